"""The Gradio Space: browse samples with their markers, depth and 3D scene; score uploaded predictions.

- `data`: random access to a built dataset (a pack's metadata and one row's images, not the whole archive)
- `render`, `scene3d`: images with markers, colour-mapped depth, cameras; a GLB of boxes and frusta
- `evaluation`, `review`: scoring an upload as `spar-hf eval` does; a model's answers beside the gold ones
- `ui`: the app (`launch`); `bundle`: a self-contained Space folder; `push`: its upload plan

Nothing is imported here: gradio is the optional `space` extra, and the bundle copies only the modules the
app imports.
"""

__all__ = ["data", "render", "scene3d", "evaluation", "review", "ui", "bundle", "push"]

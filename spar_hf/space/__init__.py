"""The Gradio Space: data access, rendering (markers, depth, 3D) and the app (docs/space.md)."""

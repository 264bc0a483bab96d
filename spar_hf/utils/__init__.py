"""What every stage shares and none owns: files, folders, seeds, summaries, sizes, the install's hooks.

- `atomic`: writes that appear whole or not at all (temp file + rename), and sweeping leftover temps
- `outputs`: what makes a finished output reusable by `--resume` (state files, sha256 of what they name)
- `outdir`: the lock a command holds on its output folder (`<out>/.spar-hf.lock`)
- `report`: the one-line command summary (`Summary`) and the rejects file (`RejectLog`)
- `rng`: one seeded generator per scene (and per task, by salt), independent of workers and order
- `relpath`: which names in a layout or an archive are safe relative paths
- `safe_extract`: extraction of the release's archives, every member's path, kind and size checked
- `jsonvalues`: the JSON values readers refuse (lone surrogates, integers past 64 bits, wrong types)
- `sizes`: `500MB` / `1GiB` option values to bytes
- `compiled`: the list of Cython-compiled modules and the guard that runs a source edited after its build
- `arrow_exit`: the exit hook that lets a script that streamed with datasets end with exit code 0

Nothing is imported here: `import spar_hf` loads this package on every start (for `compiled` and
`arrow_exit`), and setup.py imports `compiled` in a bare build environment. Import the module you need.
"""

__all__ = ["atomic", "outputs", "outdir", "report", "rng", "relpath", "safe_extract", "jsonvalues", "sizes",
           "compiled", "arrow_exit"]

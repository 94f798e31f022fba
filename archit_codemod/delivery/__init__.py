"""From traced models to files: what the command line and ``archit_codemod.write`` do with the declaring code.

- ``options.py``: the options of one generation (``WriteOptions``) and what makes them unusable;
- ``generation.py``: generate and verify, the one caller of the declaration half's ``generate``/``verified``;
- ``deliver.py``: write the code, or compare it with what is at the output (``Generated``);
- ``files.py`` (atomic writes, someone's own files), ``patches.py`` (diffs), ``manifest.py`` (checkpoint hashes);
- ``write.py``: ``write`` (the Python API) and ``write_traced`` (what the command line calls).

Nothing here reads argv or prints: that is ``archit_codemod.cli``'s.
"""

"""Declaration: trace in-place module changes and declare them as class code (LibCST)."""

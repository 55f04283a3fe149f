"""Staff only: a catalogue of realistic student bugs and legitimate variants,
and a runner that splices each into a starter and runs the public self-check
(python -m staff.bugs)."""

"""Staff only: the bug runner, which splices each planting of the mistake
catalogue (staff/assignment/mistakes/) into a starter and runs the public
self-check (python -m staff.bugs), and an independent second set of bugs
(second_set.py) that measures how well the grader names mistakes it was not
written from."""

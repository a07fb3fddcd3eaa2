"""Each timecard's sync story: what CrewFlow had, what we decided, what we sent and QuickBooks answered,
what we wait for, and what admins did; and the timecard's state in plain words (explain.py)."""

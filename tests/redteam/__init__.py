"""The red team: malicious submissions the grader must withstand (see attacks.py)."""

"""Reference solutions of the course's exercises (same API as `exercises`)."""

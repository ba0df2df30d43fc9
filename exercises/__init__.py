"""The course's exercises: fill in every function that raises NotImplementedError."""

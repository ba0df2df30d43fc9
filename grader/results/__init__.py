"""The result model (`model`: Gradescope's results.json) and everything written from it.

- `formats`: Gradescope, GitHub Classroom, JUnit XML, the CSV gradebook, and the JSON schemas;
- `report`: the terminal score table and the Markdown feedback.
"""

"""The suite's order: the longest files first, so that the two processes (pyproject's addopts) end together.

With `--dist loadfile` each file goes whole to the next free process, in
this order; a long file handed out last would leave one process idle.
"""

LONGEST_FIRST = ("test_variants.py", "test_nbgrader.py", "test_redteam.py", "test_gradescope.py", "test_grading.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order stays

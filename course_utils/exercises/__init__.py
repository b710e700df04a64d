"""Reference answers of the chapters' exercises, one module per chapter (`ch00`, ..., `ch05`).

The notebooks' self-checks import these, so the reference never sits in the cell a student edits.
Reading a module here is reading the solutions: the notebooks' collapsed "Solution" sections show them.
"""

"""course_utils: the small package behind the course 'Variational autoencoders and world models'.

Modules: config (tier, language, device, seed), environment (first-cell check), check (exercise
feedback), plotting (figures), parity and authoring (twin notebooks es/en).
"""
__version__ = "0.1.0"

"""Environments of chapter 08, registered with gymnasium on import: `gymnasium.make("course_utils/Dodge-v0")`.

Only gymnasium and numpy are imported here.
"""
import gymnasium

from .dodge import DodgeEnv

DODGE_ID = "course_utils/Dodge-v0"
if DODGE_ID not in gymnasium.registry:
    gymnasium.register(DODGE_ID, entry_point="course_utils.envs.dodge:DodgeEnv")

__all__ = ["DODGE_ID", "DodgeEnv"]

"""Environments of chapter 08, registered with gymnasium on import: `gymnasium.make("course_utils/Dodge-v1")`.

Dodge-v1 aims its fireballs at the agent; Dodge-v0 is the first version, where they fall anywhere (`aim=None`).

Only gymnasium and numpy are imported here.
"""
import gymnasium

from .dodge import DodgeEnv

DODGE_ID = "course_utils/Dodge-v1"
DODGE_V0_ID = "course_utils/Dodge-v0"
if DODGE_ID not in gymnasium.registry:
    gymnasium.register(DODGE_ID, entry_point="course_utils.envs.dodge:DodgeEnv")
if DODGE_V0_ID not in gymnasium.registry:
    gymnasium.register(DODGE_V0_ID, entry_point="course_utils.envs.dodge:DodgeEnv", kwargs={"aim": None})

__all__ = ["DODGE_ID", "DODGE_V0_ID", "DodgeEnv"]

# CarRacing-v3 in 64 x 64 frames (envs/carracing.py); Box2D is imported only when the environment is made.
CARRACING_ID = "course_utils/CarRacing64-v0"
if CARRACING_ID not in gymnasium.registry:
    gymnasium.register(CARRACING_ID, entry_point="course_utils.envs.carracing:CarRacing64Env")
__all__ += ["CARRACING_ID"]

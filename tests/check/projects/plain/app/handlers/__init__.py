from .ws import *  # noqa: F403

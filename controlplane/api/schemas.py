"""Request bodies of the API, validated strictly (unknown fields refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(Body):
    extension: str = Field(pattern=r"^[0-9]{2,8}$", description="the agent's phone extension")


class StateRequest(Body):
    state: Literal["available", "idle", "logged_out"]
    reason: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="idle reason code"
    )


class WrapUpRequest(Body):
    reason: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="wrap-up reason code")

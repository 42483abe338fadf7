"""Settings, read once at start-up from the environment and passed down as plain values.

The environment variable names are a public contract (README, hosts' config files).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.models import DEFAULT_MODEL, MAX_WAIT_SECONDS

API_KEY_VAR = "EVOLINK_API_KEY"


def _default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("imagegen-mcp", appauthor=False))


class Settings(BaseSettings):
    """Everything configurable. Unknown variables are ignored; bad values fail at start-up."""

    model_config = SettingsConfigDict(env_prefix="IMAGEGEN_", extra="ignore", frozen=True)

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(API_KEY_VAR, "IMAGEGEN_API_KEY")
    )
    api_base: str = "https://api.evolink.ai"
    files_base: str = "https://files-api.evolink.ai"
    home: Path = Field(default_factory=_default_home)
    output_dir: Path | None = None
    allowed_dirs: Annotated[tuple[Path, ...], NoDecode] = ()
    wait_seconds: float = Field(default=40.0, ge=0, le=MAX_WAIT_SECONDS)
    max_credits_per_day: float | None = Field(default=None, gt=0)
    # MCP only: a request estimated above this many credits is paid only once the user accepts.
    confirm_above_credits: float | None = Field(default=None, gt=0)
    public_url: str | None = None
    http_token: SecretStr | None = None
    # Host names the HTTP transport answers to besides its own address and localhost: a comma
    # list (os.pathsep would be ':' on POSIX, which a host:port entry contains).
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    preview_max_bytes: int = Field(default=48 * 1024, ge=0)  # base64 text per preview
    preview_max_side: int = Field(default=512, ge=16, le=4096)
    max_requests_per_second: float = Field(default=5.0, gt=0)
    default_model: str = DEFAULT_MODEL  # any id in the catalog

    @field_validator("allowed_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(p) for p in value.split(os.pathsep) if p.strip())
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(host_entry(str(v)) for v in value if str(v).strip())
        return value

    @field_validator("default_model")
    @classmethod
    def _catalog_model(cls, value: str) -> str:
        if value == DEFAULT_MODEL:
            return value  # in the catalog (a test pins it): no need to read it at start-up
        from imagegen_mcp.catalog import catalog

        if catalog().get(value) is None:
            raise ValueError(f"{value!r} is not a model id (`imagegen-mcp models` lists them)")
        return value

    @field_validator("api_base", "files_base", "public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        # Desktop hosts start servers with odd working directories: never use relative paths.
        object.__setattr__(self, "home", self.home.expanduser().resolve())
        out = (self.output_dir or self.home / "images").expanduser().resolve()
        object.__setattr__(self, "output_dir", out)
        dirs = tuple(p.expanduser().resolve() for p in self.allowed_dirs)
        object.__setattr__(self, "allowed_dirs", dirs)
        return self

    @property
    def images_dir(self) -> Path:
        assert self.output_dir is not None  # set by the validator above
        return self.output_dir

    @property
    def db_path(self) -> Path:
        return self.home / "state.db"

    @property
    def input_dirs(self) -> tuple[Path, ...]:
        """Directories local input images may be read from (default: home and output dir)."""
        if self.allowed_dirs:
            return self.allowed_dirs
        return (Path.home().resolve(), self.images_dir)

    @property
    def upstream(self) -> Literal["sandbox", "evolink"]:
        """Who answers the image requests, as the playground tells the person: "sandbox" when the
        key is the built-in sandbox's (``--sandbox``, or a separate ``imagegen-mcp sandbox``),
        which only that emulator accepts; else "evolink". Neither the key nor the address."""
        # Imported here: the sandbox package is loaded only when asked about.
        from imagegen_mcp.sandbox.config import SANDBOX_API_KEY

        key = self.api_key.get_secret_value().strip() if self.api_key is not None else ""
        return "sandbox" if key == SANDBOX_API_KEY else "evolink"

    def require_api_key(self) -> str:
        """The API key, or a one-line error naming the variable to set."""
        if self.api_key is None or not self.api_key.get_secret_value().strip():
            raise ConfigError(
                f"No EvoLink API key: set the {API_KEY_VAR} environment variable "
                "(get a key at https://evolink.ai), or try it offline with the built-in sandbox: "
                "imagegen-mcp serve --sandbox (or ui, generate, edit ... --sandbox)."
            )
        return self.api_key.get_secret_value().strip()


def host_entry(raw: str) -> str:
    """``raw`` as a Host header shows it: ``name`` or ``name:port``, IPv6 literals bracketed."""
    text = raw.strip().lower()
    try:
        return f"[{ipaddress.IPv6Address(text)}]"
    except ValueError:
        pass
    parts = urlsplit(f"//{text}")
    try:
        ok = bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        ok = False
    if not ok or parts.path or parts.query or parts.fragment or "@" in text or " " in text:
        raise ValueError(f"{raw.strip()!r} is not a host name or host:port")
    return text


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning validation errors into a ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # overrides are validated here
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        var = f"IMAGEGEN_{where.upper()}" if where != "settings" else where
        raise ConfigError(f"Invalid setting {var}: {first['msg']}") from None

"""Every setting of the demo app and its telemetry, read from the environment in one place.

Names are the environment variable names (case-insensitive); each has a default that works
on a laptop, and a validator that refuses nonsense at start-up rather than at the first
request. The OpenTelemetry SDK reads its own `OTEL_*` variables (endpoint, sampler, batch
sizes); only the ones our code interprets are declared here.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from demo_app.budgets import DEFAULT_BUDGETS_FILE, Budgets, BudgetsError, load_budgets
from demo_app.catalogue import BUNDLED_CATALOGUES, DEFAULT_MODELS_FILE, Catalogue, CatalogueError, load_catalogue
from demo_app.contract import declared_values
from demo_app.prompts import PromptError, load_prompts

if TYPE_CHECKING:
    from demo_app.guardrails import Guardrails

# demo_app.guardrails reuses the masking patterns of demo_app.telemetry, whose package imports
# this module: it is imported where it is used, and its default path is spelled out here.
_DEFAULT_GUARDRAILS_FILE = Path(__file__).resolve().parent / "data" / "guardrails.yaml"

__all__ = [
    "AppSettings",
    "TelemetrySettings",
    "TierLimitSettings",
    "AGENT_FEATURE",
    "MODELS",
    "FEATURES",
    "TIERS",
    "get_settings",
]

# Tiers and features are the contract's label values (the one place they are listed); models
# come from the model catalogue (LLM_MODELS_FILE).
TIERS: tuple[str, ...] = declared_values("user_tier")
AGENT_FEATURE = "agent"  # the feature label of /v1/agent calls; the others are /v1/ask features
FEATURES: tuple[str, ...] = tuple(f for f in declared_values("feature") if f != AGENT_FEATURE)
# The bundled simulator catalogue's models, most to least expensive: what the load generator
# and the benchmarks drive. The app itself uses `AppSettings.catalogue`.
MODELS: tuple[str, ...] = load_catalogue(DEFAULT_MODELS_FILE).names


class TelemetrySettings(BaseSettings):
    """Settings the telemetry package interprets (shared by every component)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # Record prompts and completions on chat spans (masked even then). Off by default, as in
    # the official GenAI instrumentations: message content is customer data.
    otel_instrumentation_genai_capture_message_content: bool = False
    # A label value outside the contract raises (tests, development) instead of being logged
    # and mapped to _OTHER / dropped (production default).
    telemetry_strict_labels: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # OTLP export timeout when no OTEL_EXPORTER_OTLP_*TIMEOUT is set. The SDK default (10 s,
    # with retries inside it) keeps a dead backend's batches around for too long.
    telemetry_export_timeout_s: float = Field(default=3.0, gt=0, le=30)
    # Prometheus instruments record (true) or are no-ops, with /metrics answering empty (false).
    telemetry_metrics_enabled: bool = True
    # The OTel SDK's standard exporter selection: "otlp" (the default) or "none". With "none"
    # for traces, spans are still made (trace context still reaches the simulator and the log
    # lines) but none is exported; with "none" for logs, log lines stay on stdout only.
    # Other exporters of the spec ("console", ...) are not built in and are refused at start.
    otel_traces_exporter: Literal["otlp", "none"] = "otlp"
    otel_logs_exporter: Literal["otlp", "none"] = "otlp"
    # Error tracking (demo_app/telemetry/errors.py): a Sentry DSN turns the official sentry-sdk
    # on (unset: off). The DSN's key lets anyone post events, hence a SecretStr.
    sentry_dsn: SecretStr | None = None
    sentry_environment: str = "local"
    # Events waiting for the SDK's sending thread; past this they are dropped, never waited on.
    sentry_queue_size: int = Field(default=100, ge=1, le=10_000)
    # How long exit waits for queued events (the SDK's shutdown_timeout).
    sentry_shutdown_timeout_s: float = Field(default=2.0, ge=0, le=30)
    # Grafana's address as a browser sees it: tracker events link to their trace in its Explore.
    grafana_url: str = "http://127.0.0.1:3000"

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("sentry_dsn", mode="before")
    @classmethod
    def _dsn(cls, value: object) -> object:
        # SENTRY_DSN= (empty, as compose passes an unset variable) means off, as in the SDK;
        # anything else must parse as a DSN now, not fail inside the SDK at start.
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str) or not value.strip():
            return None
        from sentry_sdk.utils import BadDsn, Dsn

        try:
            Dsn(value.strip())
        except BadDsn as exc:
            raise ValueError(f"SENTRY_DSN is not a DSN (http://<key>@<host>[:port]/<project id>): {exc}") from None
        return value.strip()

    @field_validator("otel_traces_exporter", "otel_logs_exporter", mode="before")
    @classmethod
    def _exporter(cls, value: object) -> object:
        # The spec allows a comma-separated list; empty means the default.
        if not isinstance(value, str):
            return value
        names = {name.strip().lower() for name in value.split(",") if name.strip()}
        if not names:
            return "otlp"
        if len(names) > 1:
            raise ValueError(f"one exporter, otlp or none, not {sorted(names)}")
        return names.pop()


class TierLimitSettings(BaseSettings):
    """Token-bucket size per customer tier: requests per second and burst."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    rate_limit_free_per_s: float = Field(default=2.0, gt=0)
    rate_limit_free_burst: int = Field(default=5, ge=1)
    rate_limit_pro_per_s: float = Field(default=10.0, gt=0)
    rate_limit_pro_burst: int = Field(default=20, ge=1)
    rate_limit_enterprise_per_s: float = Field(default=50.0, gt=0)
    rate_limit_enterprise_burst: int = Field(default=100, ge=1)

    def for_tier(self, tier: str) -> tuple[float, int]:
        """(refill per second, burst) of one tier."""
        return getattr(self, f"rate_limit_{tier}_per_s"), getattr(self, f"rate_limit_{tier}_burst")


class AppSettings(BaseSettings):
    """Settings of the RAG/agent demo app (`python -m demo_app.app`)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # The OpenAI-compatible provider (the simulator by default). The simulator ignores the
    # key; a real provider would need a real one, which is why it is a SecretStr.
    llm_base_url: str = "http://127.0.0.1:8081/v1"
    llm_api_key: SecretStr = SecretStr("sim-key")
    llm_timeout_s: float = Field(default=30.0, gt=0, le=600)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_retry_backoff_s: float = Field(default=0.2, ge=0, le=30)  # first retry waits about this long
    llm_retry_backoff_max_s: float = Field(default=5.0, ge=0, le=120)  # cap of the exponential backoff
    llm_retry_after_cap_s: float = Field(default=5.0, ge=0, le=120)  # cap on a provider's Retry-After
    llm_fallback_enabled: bool = True

    # The model catalogue: which models exist, their provider, price and fallback (see
    # demo_app/catalogue.py). MODEL_<FEATURE> must name one of its models; unset, the
    # catalogue's `defaults.models` (or its first model) is used.
    llm_models_file: Path = DEFAULT_MODELS_FILE
    model_qa: str | None = None
    model_summarize: str | None = None
    model_support: str | None = None
    model_agent: str | None = None

    # The budgets file: monthly USD budgets per scope and the teams (see demo_app/budgets.py);
    # its team names are the `team` label's values.
    llm_budgets_file: Path = DEFAULT_BUDGETS_FILE

    # The guardrails file: input and output checks with their actions (demo_app/guardrails.py).
    guardrails_file: Path = _DEFAULT_GUARDRAILS_FILE

    # The agents' tools: on the MCP tool server at this URL (python -m demo_app.mcp_tools,
    # e.g. http://127.0.0.1:8084/mcp), or in process when empty. compose and the native stack
    # set it.
    mcp_tools_url: str = ""
    mcp_timeout_s: float = Field(default=10.0, gt=0, le=120)

    # The prompt version live at start per /v1/ask feature (demo_app/data/prompts); unset, the
    # first version in sorted order. PUT /admin/prompts/{name} switches it while the app runs.
    prompt_version_qa: str | None = None
    prompt_version_summarize: str | None = None
    prompt_version_support: str | None = None

    rag_top_k: int = Field(default=4, ge=1, le=20)
    max_text_chars: int = Field(default=4000, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # Conversation memory for /v1/ask's conversation_id (demo_app/app/conversations.py): how
    # many conversations, turns and characters of history the app keeps, and for how long
    # after a conversation's last request. In memory, per process.
    conversation_max_count: int = Field(default=1000, ge=1, le=100_000)
    conversation_max_turns: int = Field(default=10, ge=1, le=100)
    conversation_max_chars: int = Field(default=8000, ge=1, le=1_000_000)
    conversation_ttl_s: float = Field(default=1800.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _models_in_catalogue(self) -> AppSettings:
        try:
            catalogue = self.catalogue
        except CatalogueError as exc:
            raise ValueError(f"LLM_MODELS_FILE: {exc}") from None
        for feature in (*FEATURES, AGENT_FEATURE):
            model = self.model_for(feature)
            if model not in catalogue.models:
                hint = "".join(
                    f"; {model!r} is in {path}: set LLM_MODELS_FILE to it (or add the model to yours)"
                    for path in BUNDLED_CATALOGUES.values()
                    if path != catalogue.path and model in load_catalogue(path).models
                )
                raise ValueError(f"MODEL_{feature.upper()}: {catalogue.unknown_model_message(model)}{hint}")
        try:
            self.budgets  # noqa: B018 - loading validates the file; the error belongs to this setting
        except BudgetsError as exc:
            raise ValueError(f"LLM_BUDGETS_FILE: {exc}") from None
        from demo_app.guardrails import GuardrailsError

        try:
            self.guardrails  # noqa: B018 - loading validates the file; the error belongs to this setting
        except GuardrailsError as exc:
            raise ValueError(f"GUARDRAILS_FILE: {exc}") from None
        try:
            prompts = load_prompts(required=FEATURES)
        except PromptError as exc:
            raise ValueError(f"prompt files: {exc}") from None
        for feature in FEATURES:
            version = self.prompt_version_for(feature)
            if version is not None and version not in prompts.versions(feature):
                valid = ", ".join(prompts.versions(feature))
                raise ValueError(f"PROMPT_VERSION_{feature.upper()}: prompt {feature!r} has no version {version!r}; expected one of {valid}")
        agent = self.model_for(AGENT_FEATURE)
        if not catalogue.models[agent].tools:
            usable = [n for n, m in catalogue.models.items() if m.tools]
            raise ValueError(f"MODEL_AGENT: {agent!r} does not take tools (tools: false in {catalogue.source}); use one of {', '.join(usable)}")
        return self

    @property
    def catalogue(self) -> Catalogue:
        """The model catalogue of LLM_MODELS_FILE (read once per file)."""
        return _catalogue_of(self.llm_models_file)

    @property
    def budgets(self) -> Budgets:
        """The budgets file of LLM_BUDGETS_FILE (read once per file)."""
        return load_budgets(self.llm_budgets_file)

    @property
    def guardrails(self) -> Guardrails:
        """The guardrails of GUARDRAILS_FILE (read once per file)."""
        from demo_app.guardrails import load_guardrails

        return load_guardrails(self.guardrails_file)

    @field_validator("llm_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("LLM_BASE_URL must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("mcp_tools_url")
    @classmethod
    def _mcp_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("MCP_TOOLS_URL must be empty (tools in process) or start with http:// or https://")
        return value

    def prompt_version_for(self, feature: str) -> str | None:
        """The prompt version PROMPT_VERSION_<FEATURE> makes live at start, None when unset."""
        return getattr(self, f"prompt_version_{feature}")

    def model_for(self, feature: str) -> str:
        """Default model of a feature (qa, summarize, support, agent)."""
        return getattr(self, f"model_{feature}") or self.catalogue.default_model(feature)


@cache
def _catalogue_of(path: Path) -> Catalogue:
    """load_catalogue(path), looked up once per path as given.

    `AppSettings.catalogue` is read on every request (model_for, twice per /v1/ask), and
    load_catalogue resolves the path each time (a filesystem walk: 1.4 % of the app's samples
    under load, bench/results/telemetry-cost.md); a private attribute on the settings would
    cost a pydantic __getattr__ with a caught AttributeError on every read instead.
    """
    return load_catalogue(path)


@lru_cache(maxsize=1)
def get_settings() -> tuple[AppSettings, TierLimitSettings, TelemetrySettings]:
    """Read the environment once per process."""
    return AppSettings(), TierLimitSettings(), TelemetrySettings()

"""The app's long-lived objects, built once at start from the settings and shared by the routes."""

from __future__ import annotations

from dataclasses import dataclass

from demo_app.app.agents import AgentRunner
from demo_app.app.conversations import ConversationStore
from demo_app.app.llm import LLMClient
from demo_app.app.mcp_client import McpToolClient
from demo_app.app.pricing import PriceTable
from demo_app.app.rag import Retriever
from demo_app.app.ratelimit import TierLimit, TierRateLimiter
from demo_app.app.retrieval import InstrumentedRetriever
from demo_app.app.tools import build_tools
from demo_app.budgets import OTHER_TEAM, Budgets
from demo_app.config import AGENT_FEATURE, FEATURES, TIERS, AppSettings, TierLimitSettings
from demo_app.prompts import PromptLibrary, load_prompts
from demo_app.telemetry import Telemetry

__all__ = ["Services"]


@dataclass
class Services:
    """Everything a request handler needs; `request.app.state.services`."""

    settings: AppSettings
    tel: Telemetry
    retriever: InstrumentedRetriever
    limiter: TierRateLimiter
    llm: LLMClient
    agents: AgentRunner
    budgets: Budgets
    conversations: ConversationStore
    prompts: PromptLibrary
    mcp: McpToolClient | None = None  # the agents' tool server, when MCP_TOOLS_URL is set

    @classmethod
    def build(cls, settings: AppSettings, tiers: TierLimitSettings, tel: Telemetry) -> Services:
        # Read and checked here, at start: a broken prompt file stops the app with its path.
        prompts = load_prompts(required=FEATURES)
        for feature in FEATURES:  # PROMPT_VERSION_<FEATURE>, checked against the files by the settings
            if (version := settings.prompt_version_for(feature)) is not None:
                prompts.select(feature, version)
        retriever = InstrumentedRetriever(Retriever.from_corpus(), tel, k=settings.rag_top_k)
        limiter = TierRateLimiter({tier: TierLimit(*tiers.for_tier(tier)) for tier in TIERS})
        llm = LLMClient(settings, tel, PriceTable.from_catalogue(settings.catalogue))
        mcp = McpToolClient(settings.mcp_tools_url, tel, timeout_s=settings.mcp_timeout_s) if settings.mcp_tools_url else None
        agents = AgentRunner(llm, build_tools(retriever), tel, model=settings.model_for(AGENT_FEATURE), mcp=mcp)
        _create_counter_series(tel, settings, settings.budgets, prompts)
        conversations = ConversationStore(
            max_conversations=settings.conversation_max_count,
            max_turns=settings.conversation_max_turns,
            max_chars=settings.conversation_max_chars,
            ttl_s=settings.conversation_ttl_s,
        )
        return cls(
            settings=settings, tel=tel, retriever=retriever, limiter=limiter, llm=llm, agents=agents, budgets=settings.budgets,
            conversations=conversations, prompts=prompts, mcp=mcp,
        )


def _create_counter_series(tel: Telemetry, settings: AppSettings, budgets: Budgets, prompts: PromptLibrary) -> None:
    """Create every counter series at 0 at start.

    A series that appears with its first increment has no earlier sample, so `rate()` and
    `increase()` miss that first event - exactly the one an alert is waiting for.

    Except most of llmapp_cost_usd_total: its full product (models x features x tiers x teams,
    144 series with the bundled files, times prompt versions) alone would spend a seventh of the
    app's 1,000-series budget at zero. Only each feature's default model and live prompt version,
    per tier and team, is created (48); a pinned model, a fallback or a rolled-out prompt version starts its series with its first call, whose cost the budget
    rules (sums over minutes to a month) then miss - one call's worth, nothing an alert waits for.
    """
    catalogue = settings.catalogue
    reasons = tel.contract.labels["reason"].values or ()
    for feature in (*FEATURES, AGENT_FEATURE):
        # The live prompt version at start (agent turns have none); a version switched to later
        # starts its series with its first call.
        version = prompts.live(feature).version if feature in FEATURES else ""
        for tier in TIERS:
            for team in (*budgets.teams, OTHER_TEAM):
                tel.metric("llmapp_cost_usd_total").labels(
                    gen_ai_request_model=settings.model_for(feature), feature=feature, user_tier=tier, team=team, prompt_version=version
                )
        for token_type in ("input", "output"):
            tel.metric("llmapp_tokens_total").labels(feature=feature, prompt_version=version, gen_ai_token_type=token_type)
    for model, entry in catalogue.models.items():
        for reason in reasons:
            tel.metric("llmapp_llm_retries_total").labels(gen_ai_request_model=model, reason=reason)
        tel.metric("llmapp_unpriced_responses_total").labels(gen_ai_request_model=model)
        tel.metric("llmapp_cache_savings_usd_total").labels(gen_ai_request_model=model)
        # Not the semconv cache-read counter: like every gen_ai_* family it appears with the
        # first call, as any semconv app's does (an idle app feeds no GenAI panel; the cache
        # hit ratio is a ratio of rates under steady traffic, so a missed first increment is
        # one call's worth of tokens).
        if entry.fallback is not None:
            tel.metric("llmapp_llm_fallbacks_total").labels(gen_ai_request_model=model, fallback_model=entry.fallback)
    for source in ("app", "provider"):
        for tier in TIERS:
            tel.metric("llmapp_rate_limit_events_total").labels(source=source, user_tier=tier)
    for tool in tel.contract.labels["gen_ai_tool_name"].values or ():
        for outcome in ("ok", "error"):
            tel.metric("llmapp_agent_tool_calls_total").labels(gen_ai_tool_name=tool, outcome=outcome)
    for signal in ("traces", "logs"):
        tel.metric("llmapp_telemetry_dropped_total").labels(signal=signal)
    for guardrail in settings.guardrails.guardrails:  # one series each: the file fixes its stage and action
        tel.metric("llmapp_guardrail_detections_total").labels(guardrail=guardrail.name, stage=guardrail.stage, action=guardrail.action)

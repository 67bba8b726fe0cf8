"""Generate the per-model rules (latency thresholds, prices, computed cost) from the model catalogue.

    python prometheus/rules/gen_models.py                      # rewrite rules/models.yml
    python prometheus/rules/gen_models.py --catalogue openai   # ... from a bundled catalogue
    python prometheus/rules/gen_models.py --catalogue my.yaml  # ... from any catalogue file
    python prometheus/rules/gen_models.py --check              # exit 1 if rules/models.yml differs

The catalogue is --catalogue (a bundled name: simulator, openai, ollama; or a path), else
$LLM_MODELS_FILE (the one the app uses), else the bundled simulator catalogue. The committed
rules/models.yml is the simulator's, and the promtool tests in rules/tests/ expect it.

What the file gives the alerts and dashboards, for ANY model an app reports:
- `gen_ai_request_model:gen_ai_client_operation_duration_seconds:p95_threshold`: the catalogue's
  `p95_threshold_s` for its models, and `defaults.p95_threshold_s` for every other model that
  has LLM calls (LLMHighLatencyP95 compares the p95 with it);
- `gen_ai_request_model_gen_ai_token_type:llm_model_price_usd_per_token:catalogue`: the price of
  one input and one output token of each priced model;
- `gen_ai_request_model_gen_ai_token_type:llm_model_cache_discount_usd_per_token:catalogue`: what
  a cached input token costs less than an uncached one (input - cached_input), for each priced
  model with a lower `cached_input` price;
- USD per hour computed from the semconv token-usage histogram times those prices, by model and
  token type, by model and in total (LLMCostSpike and the cost panels read these), and the
  tokens per second of models without a price (their cost is absent, not 0).

The contract's `gen_ai_token_type` has only `input` and `output`: cached prompt tokens are
counted as input by the token metric. The input row therefore takes off the cache discount for
the cached ones (gen_ai_client_inference_usage_cache_read_input_tokens_total), so it prices them
at `cached_input`, as the app's own llmapp_cost_usd_total does; a model without cache reads (or
an app that does not report them) is priced at the full input price.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from anywhere: demo_app is importable

from demo_app.catalogue import BUNDLED_CATALOGUES, DEFAULT_MODELS_FILE, ENV_VAR, Catalogue, load_catalogue  # noqa: E402 - after the sys.path line

__all__ = ["OUTPUT", "TOKEN_TYPES", "render", "resolve_catalogue"]

OUTPUT = HERE / "models.yml"
# The values of the contract's gen_ai_token_type, with the catalogue price that applies.
TOKEN_TYPES = ("input", "output")

_TOKENS = "gen_ai_client_token_usage_sum"
_CALLS = "gen_ai_client_operation_duration_seconds_count"
THRESHOLD = "gen_ai_request_model:gen_ai_client_operation_duration_seconds:p95_threshold"
CATALOGUE_THRESHOLD = "gen_ai_request_model:llm_model_p95_threshold_seconds:catalogue"
DEFAULT_THRESHOLD = ":llm_model_p95_threshold_seconds:default"
PRICE = "gen_ai_request_model_gen_ai_token_type:llm_model_price_usd_per_token:catalogue"
CACHE_DISCOUNT = "gen_ai_request_model_gen_ai_token_type:llm_model_cache_discount_usd_per_token:catalogue"
_CACHE_READS = "gen_ai_client_inference_usage_cache_read_input_tokens_total"
COST_BY_TYPE = "gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage_cost_usd_per_hour:rate1m"
COST_BY_MODEL = "gen_ai_request_model:gen_ai_client_token_usage_cost_usd_per_hour:rate1m"
COST_TOTAL = ":gen_ai_client_token_usage_cost_usd_per_hour:rate1m"
UNPRICED = "gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage_sum:rate1m_unpriced"


def resolve_catalogue(value: str | None, environ: dict[str, str] | None = None) -> Path:
    """A bundled name or a path; unset: $LLM_MODELS_FILE, else the simulator catalogue."""
    env = os.environ if environ is None else environ
    value = (value or env.get(ENV_VAR, "")).strip()
    if not value:
        return DEFAULT_MODELS_FILE
    return BUNDLED_CATALOGUES.get(value, Path(value))


def _number(value: float) -> str:
    return f"{value:g}"


def _per_token(per_million: float) -> str:
    # USD per token = the per-million price x 1e-6, written so the catalogue figure stays visible.
    return "0" if per_million == 0 else f"{per_million:g}e-6"


def _label_value(text: str) -> str:
    # Model names may hold ':' or '@' (llama3.2:latest): always quote them in YAML.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(HERE.parents[1]).as_posix()
    except ValueError:
        return path.as_posix()


def _threshold_group(cat: Catalogue) -> list[str]:
    lines = [
        "  - name: llm-model-catalogue",
        "    rules:",
        "      # LLMHighLatencyP95 threshold of each catalogue model (p95_threshold_s), in seconds.",
    ]
    for name in cat.names:
        own = cat.models[name].p95_threshold_s is not None
        lines += [
            f"      - record: {CATALOGUE_THRESHOLD}",
            f"        expr: vector({_number(cat.p95_threshold_s(name))}){'' if own else '  # the catalogue default'}",
            f"        labels: {{gen_ai_request_model: {_label_value(name)}}}",
        ]
    lines += [
        "      # The threshold of every model the catalogue does not list (defaults.p95_threshold_s).",
        f"      - record: {DEFAULT_THRESHOLD}",
        f"        expr: vector({_number(cat.defaults.p95_threshold_s)})",
        "      # What the alert compares with: the catalogue's threshold where it lists the model,",
        "      # else the default, for every model that has LLM calls (any app, any model).",
        f"      - record: {THRESHOLD}",
        "        expr: |",
        f"          {CATALOGUE_THRESHOLD}",
        "          or on (gen_ai_request_model)",
        f"          (0 * sum by (gen_ai_request_model) ({_CALLS}) + on () group_left () {DEFAULT_THRESHOLD})",
    ]
    priced = [(name, cat.price(name)) for name in cat.names if cat.price(name) is not None]
    lines.append("")
    lines.append("      # USD per token of each priced model (price_per_million x 1e-6). Models without a price")
    lines.append("      # have no row: their cost is absent and their tokens show in ..._rate1m_unpriced.")
    if not priced:
        lines.append("      # (No model of this catalogue has a price.)")
    for name, price in priced:
        for token_type in TOKEN_TYPES:
            lines += [
                f"      - record: {PRICE}",
                f"        expr: vector({_per_token(getattr(price, token_type))})",
                f"        labels: {{gen_ai_request_model: {_label_value(name)}, gen_ai_token_type: {token_type}}}",
            ]
    discounted = [(name, price.input - price.cached_input) for name, price in priced
                  if price.cached_input is not None and price.cached_input < price.input]
    if discounted:
        lines.append("      # USD per token a cached input token costs less (input - cached_input), on the input row.")
    for name, per_million in discounted:
        lines += [
            f"      - record: {CACHE_DISCOUNT}",
            f"        expr: vector({_per_token(round(per_million, 9))})",
            f"        labels: {{gen_ai_request_model: {_label_value(name)}, gen_ai_token_type: input}}",
        ]
    return lines


def _cost_group() -> list[str]:
    tokens = f"sum by (gen_ai_request_model, gen_ai_token_type) (rate({_TOKENS}[1m]))"
    full_price = [
        f"            {tokens}",
        "            * on (gen_ai_request_model, gen_ai_token_type)",
        f"            {PRICE}",
    ]
    lines = [
        "  - name: llm-cost-computed",
        "    rules:",
        "      # Spend in USD per hour computed in Prometheus: tokens per second (the semconv",
        "      # token-usage histogram, any app) x the catalogue price x 3600, less the cache",
        "      # discount of the cached input tokens where the model has cache reads and a",
        "      # discount (`or` keeps the full price where either is absent).",
    ]
    lines += [
        f"      - record: {COST_BY_TYPE}",
        "        expr: |",
        "          (",
        "            (",
        *["  " + line for line in full_price],
        "            )",
        "            - on (gen_ai_request_model, gen_ai_token_type)",
        f"            sum by (gen_ai_request_model) (rate({_CACHE_READS}[1m]))",
        "            * on (gen_ai_request_model) group_left (gen_ai_token_type)",
        f"            {CACHE_DISCOUNT}",
        "            or",
        *full_price,
        "          )",
        "          * 3600",
    ]
    lines += [
        f"      - record: {COST_BY_MODEL}",
        f"        expr: sum by (gen_ai_request_model) ({COST_BY_TYPE})",
        f"      - record: {COST_TOTAL}",
        f"        expr: sum({COST_BY_TYPE})",
        "      # Tokens per second of models without a price: spend the computed cost misses.",
        f"      - record: {UNPRICED}",
        "        expr: |",
        f"          {tokens}",
        "          unless on (gen_ai_request_model, gen_ai_token_type)",
        f"          {PRICE}",
    ]
    return lines


def render(cat: Catalogue, source: Path) -> str:
    """The rule file for one catalogue, as text."""
    lines = [
        "# GENERATED by prometheus/rules/gen_models.py from the model catalogue - do not edit by hand;",
        "# edit the catalogue and run `python prometheus/rules/gen_models.py [--catalogue NAME|FILE]`",
        "# (`make rules`; tests/rules/ fails if this file drifts from the simulator catalogue).",
        f"# Catalogue: {_display_path(source)}",
        "#",
        "# Per-model settings as series, so every alert and cost panel covers any model an app",
        "# reports: listed models get their catalogue threshold and price, others the default",
        "# threshold and no price (cost absent; their tokens are counted as unpriced). Cached",
        "# prompt tokens are input tokens to the token metric; the input row takes off their",
        "# cache discount (input - cached_input price), as the app's llmapp_cost_usd_total does.",
        "",
        "groups:",
        *_threshold_group(cat),
        "",
        *_cost_group(),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", help="bundled catalogue name (simulator, openai, ollama) or a catalogue file")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"rule file to write (default {_display_path(OUTPUT)})")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs instead of writing it")
    args = parser.parse_args(argv)
    source = resolve_catalogue(args.catalogue)
    text = render(load_catalogue(source), source)
    if args.check:
        if not args.output.exists() or args.output.read_text(encoding="utf-8") != text:
            print(
                f"{args.output} differs from the catalogue {_display_path(source)}: run python {Path(__file__).as_posix()}",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} from {_display_path(source)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Contract instruments: the right families, checked label values, exemplars, both expositions."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from demo_app.contract import load_contract
from demo_app.telemetry.metrics import OTHER, LabelValueError, build_instruments, render_metrics

CONTRACT = load_contract()
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
CHAT_LABELS = dict(
    gen_ai_operation_name="chat",
    gen_ai_provider_name="openai",
    gen_ai_request_model="sim-small",
    gen_ai_response_model="sim-small",
    error_type="",
)


def _instruments(component: str = "app", strict: bool = True):
    registry = CollectorRegistry()
    return registry, build_instruments(CONTRACT, component, registry, strict=strict)


class TestFamilies:
    """Every contract metric of a component is built with its type, labels and buckets."""

    @pytest.mark.parametrize("component", ["app", "llm_sim", "alert_sink"])
    def test_one_instrument_per_contract_metric(self, component: str) -> None:
        _, instruments = _instruments(component)
        assert set(instruments) == {m.name for m in CONTRACT.metrics_for(component)}

    def test_histogram_buckets_follow_contract(self) -> None:
        registry, instruments = _instruments()
        instruments["llmapp_agent_steps"].labels(outcome="ok").observe(3)
        les = {
            s.labels["le"]
            for f in text_string_to_metric_families(render_metrics(registry, OPENMETRICS)[0].decode())
            for s in f.samples
            if s.name == "llmapp_agent_steps_bucket"
        }
        assert {float(x) for x in les if x != "+Inf"} == set(CONTRACT.metric("llmapp_agent_steps").buckets)

    def test_no_created_series(self) -> None:
        registry, instruments = _instruments()
        labels = {"gen_ai_request_model": "sim-small", "feature": "qa", "user_tier": "free", "team": "_other", "prompt_version": "v1"}
        instruments["llmapp_cost_usd_total"].labels(**labels).inc(0.5)
        assert b"_created" not in render_metrics(registry, OPENMETRICS)[0]
        assert b"llmapp_cost_usd_total" in render_metrics(registry, None)[0]

    def test_metric_without_labels_is_its_own_child(self) -> None:
        # The llmapp_rag_* histograms have no labels; /v1/ask calls `.labels()` on them anyway.
        registry, instruments = _instruments()
        assert CONTRACT.metric("llmapp_rag_top_score").labels == ()
        child = instruments["llmapp_rag_top_score"].labels()
        child.observe(2.5)
        assert instruments["llmapp_rag_top_score"].labels() is child
        text = render_metrics(registry, None)[0].decode()
        assert "llmapp_rag_top_score_count 1.0" in text and "llmapp_rag_top_score_sum 2.5" in text


class TestLabelValues:
    """Label values outside the contract raise in strict mode; otherwise become _OTHER or are dropped."""

    def test_strict_mode_raises(self) -> None:
        _, instruments = _instruments(strict=True)
        with pytest.raises(LabelValueError):
            instruments["llmapp_agent_steps"].labels(outcome="exploded")

    def test_pattern_labels_are_checked(self) -> None:
        _, instruments = _instruments(strict=True)
        hist = instruments["http_server_request_duration_seconds"]
        hist.labels(http_request_method="GET", http_route="/v1/ask", http_response_status_code="200").observe(0.1)
        with pytest.raises(LabelValueError):
            hist.labels(http_request_method="GET", http_route="/v1/ask", http_response_status_code="2000")

    def test_lenient_mode_maps_to_other_where_allowed(self) -> None:
        registry, instruments = _instruments(strict=False)
        labels = {**CHAT_LABELS, "error_type": "SomeNewSDKError"}
        instruments["gen_ai_client_operation_duration_seconds"].labels(**labels).observe(1.0)
        text = render_metrics(registry, None)[0].decode()
        assert f'error_type="{OTHER}"' in text and "SomeNewSDKError" not in text

    def test_lenient_mode_drops_where_no_other(self) -> None:
        registry, instruments = _instruments(strict=False)
        instruments["llmapp_quality_score"].labels(metric="faithfulness", feature="poetry", prompt_version="v1").observe(0.5)
        assert "poetry" not in render_metrics(registry, None)[0].decode()
        assert "llmapp_quality_score_count" not in render_metrics(registry, None)[0].decode()

    def test_positional_values_are_checked_too(self) -> None:
        _, instruments = _instruments(strict=True)
        with pytest.raises(LabelValueError):
            instruments["llmapp_rate_limit_events_total"].labels("app", "platinum")


class TestExemplars:
    """Histograms marked `exemplars: true` carry the current sampled trace in OpenMetrics."""

    def _exemplars(self, registry: CollectorRegistry, family: str) -> list:
        text = render_metrics(registry, OPENMETRICS)[0].decode()
        return [s.exemplar for f in text_string_to_metric_families(text) if f.name == family for s in f.samples if s.exemplar]

    def test_sampled_span_becomes_exemplar(self) -> None:
        registry, instruments = _instruments()
        tracer = TracerProvider().get_tracer("t")
        with tracer.start_as_current_span("x") as span:
            instruments["gen_ai_client_operation_duration_seconds"].labels(**CHAT_LABELS).observe(0.3)
            trace_id = format(span.get_span_context().trace_id, "032x")
        (exemplar,) = self._exemplars(registry, "gen_ai_client_operation_duration_seconds")
        assert exemplar.labels["trace_id"] == trace_id and len(exemplar.labels["span_id"]) == 16

    def test_unsampled_or_absent_span_gives_none(self) -> None:
        registry, instruments = _instruments()
        hist = instruments["gen_ai_client_operation_duration_seconds"].labels(**CHAT_LABELS)
        hist.observe(0.3)
        with TracerProvider(sampler=ALWAYS_OFF).get_tracer("t").start_as_current_span("x"):
            hist.observe(0.3)
        assert self._exemplars(registry, "gen_ai_client_operation_duration_seconds") == []

    def test_text_format_has_no_exemplars(self) -> None:
        registry, instruments = _instruments()
        with TracerProvider().get_tracer("t").start_as_current_span("x"):
            instruments["llmapp_agent_duration_seconds"].labels(gen_ai_agent_name="writer").observe(0.3)
        text, content_type = render_metrics(registry, "text/plain")
        assert content_type.startswith("text/plain") and b"trace_id" not in text
        assert self._exemplars(registry, "llmapp_agent_duration_seconds")


class TestLabelCache:
    """A label set that passed the check is not checked again; one that failed is checked every time."""

    def test_same_labels_same_child(self) -> None:
        _, instruments = _instruments()
        counter = instruments["llmapp_rate_limit_events_total"]
        assert counter.labels(source="app", user_tier="free") is counter.labels(source="app", user_tier="free")
        assert counter.labels("app", "free") is counter.labels(source="app", user_tier="free")

    def test_values_that_compare_equal_are_still_checked_as_written(self) -> None:
        _, instruments = _instruments(strict=True)
        hist = instruments["http_server_request_duration_seconds"]
        hist.labels(http_request_method="GET", http_route="/v1/ask", http_response_status_code=200).observe(0.1)
        with pytest.raises(LabelValueError):  # 200.0 == 200, but "200.0" is no status code
            hist.labels(http_request_method="GET", http_route="/v1/ask", http_response_status_code=200.0)

    def test_invalid_value_raises_every_time(self) -> None:
        _, instruments = _instruments(strict=True)
        for _ in range(2):
            with pytest.raises(LabelValueError):
                instruments["llmapp_agent_steps"].labels(outcome="exploded")

    def test_lenient_invalid_value_is_remapped_every_time(self) -> None:
        registry, instruments = _instruments(strict=False)
        labels = {**CHAT_LABELS, "error_type": "SomeNewSDKError"}
        for _ in range(3):
            instruments["gen_ai_client_operation_duration_seconds"].labels(**labels).observe(1.0)
        text = render_metrics(registry, OPENMETRICS)[0].decode()
        counts = [
            s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == "gen_ai_client_operation_duration_seconds_count"
        ]
        assert counts == [3.0] and f'error_type="{OTHER}"' in text

    def test_clear_forgets_the_children(self) -> None:
        registry, instruments = _instruments()
        counter = instruments["llmapp_rate_limit_events_total"]
        counter.labels(source="app", user_tier="free").inc()
        counter.clear()
        counter.labels(source="app", user_tier="free").inc()
        assert 'llmapp_rate_limit_events_total{source="app",user_tier="free"} 1.0' in render_metrics(registry, None)[0].decode()


class TestPublicApiOnly:
    """Instruments are prometheus_client's own classes behind a wrapper, not per-metric subclasses."""

    def test_families_are_plain_prometheus_client_metrics(self) -> None:
        _, instruments = _instruments()
        kinds = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}
        for metric in CONTRACT.metrics_for("app"):
            assert type(instruments[metric.name].metric) is kinds[metric.type], metric.name

    def test_exemplar_child_is_one_per_series(self) -> None:
        _, instruments = _instruments()
        hist = instruments["llmapp_agent_duration_seconds"]
        assert hist.labels("writer") is hist.labels(gen_ai_agent_name="writer")

    def test_wrong_label_names_get_prometheus_clients_error(self) -> None:
        _, instruments = _instruments()
        with pytest.raises(ValueError, match="Incorrect label names"):
            instruments["llmapp_agent_steps"].labels(result="ok")
        with pytest.raises(ValueError, match="Incorrect label count"):
            instruments["llmapp_agent_steps"].labels("ok", "extra")


class TestMetricsDisabled:
    """TELEMETRY_METRICS_ENABLED=false: every instrument exists and records nothing."""

    def test_instruments_are_noops_and_registry_empty(self) -> None:
        registry = CollectorRegistry()
        instruments = build_instruments(CONTRACT, "app", registry, strict=True, enabled=False)
        assert set(instruments) == {m.name for m in CONTRACT.metrics_for("app")}
        instruments["llmapp_rate_limit_events_total"].labels(source="app", user_tier="free").inc()
        instruments["llmapp_quality_score"].labels(metric="relevancy", feature="poetry", prompt_version="v1").observe(0.5)
        with instruments["llmapp_requests_in_flight"].labels(http_route="/v1/ask").track_inprogress():
            pass
        assert list(text_string_to_metric_families(render_metrics(registry, OPENMETRICS)[0].decode())) == []

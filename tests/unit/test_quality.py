"""Unit tests for demo_app.app.quality: faithfulness and relevancy heuristics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demo_app.app.quality import PASS_THRESHOLD, QualityScores, evaluation_results, is_refusal, score_answer

QUESTION = "How much does the Plus plan cost if I pay yearly?"
GROUNDED = (
    "On Plus the annual price works out to $96 per member per year instead of $120 [kb-002]. "
    "Paying yearly saves about 20 percent."
)
MADE_UP = "The Plus plan costs $49 per user per year and comes with a free smartwatch."
OFF_TOPIC = "Bananas are rich in potassium and taste great in bread. Bake them for an hour."


@pytest.fixture(scope="module")
def contexts(retriever) -> list[str]:
    return [hit.text for hit in retriever.search(QUESTION)]


class TestRanking:
    """A grounded answer beats a made-up one on faithfulness and an off-topic one on both."""

    def test_grounded_beats_made_up_on_faithfulness(self, contexts):
        grounded = score_answer(QUESTION, GROUNDED, contexts)
        made_up = score_answer(QUESTION, MADE_UP, contexts)
        assert grounded.faithfulness == 1.0
        assert made_up.faithfulness < grounded.faithfulness
        # The explanation names what the context does not support.
        assert {"49", "smartwatch"} <= set(made_up.explanation["unsupported_terms"])

    def test_grounded_beats_off_topic_on_both(self, contexts):
        grounded = score_answer(QUESTION, GROUNDED, contexts)
        off = score_answer(QUESTION, OFF_TOPIC, contexts)
        assert grounded.faithfulness > off.faithfulness
        assert grounded.relevancy > off.relevancy
        assert off.relevancy == 0.0

    def test_made_up_but_on_topic_stays_relevant(self, contexts):
        # Two separate metrics on purpose: relevancy does not judge truth.
        assert score_answer(QUESTION, MADE_UP, contexts).relevancy >= 0.5

    def test_refusal_is_penalised(self, contexts):
        refusal = "I don't know how much the Plus plan costs when paying yearly."
        scores = score_answer(QUESTION, refusal, contexts)
        assert scores.explanation["refusal"] is True
        assert scores.relevancy <= 0.2
        assert scores.relevancy < score_answer(QUESTION, GROUNDED, contexts).relevancy

    def test_corpus_sentences_answering_their_question_score_high(self, retriever):
        # The first two sentences of each document, asked its own first question.
        scores = []
        for doc in retriever.documents:
            question = doc.questions[0]
            answer = " ".join(doc.text.split(". ")[:2])
            context = [h.text for h in retriever.search(question)] + [doc.text]
            scores.append(score_answer(question, answer, context))
        mean_f = sum(s.faithfulness for s in scores) / len(scores)
        mean_r = sum(s.relevancy for s in scores) / len(scores)
        print(f"\nlead-sentence answers: mean faithfulness={mean_f:.3f} relevancy={mean_r:.3f}")
        assert mean_f == 1.0
        assert mean_r >= 0.6


class TestEdgeCases:
    """Empty answers score zero; citations and an empty context are handled."""

    @pytest.mark.parametrize("answer", ["", "   ", "Yes.", "[kb-002]"])
    def test_answers_without_content_score_zero(self, contexts, answer):
        scores = score_answer(QUESTION, answer, contexts)
        assert (scores.faithfulness, scores.relevancy) == (0.0, 0.0)

    def test_citations_do_not_count_as_terms(self, contexts):
        plain = score_answer(QUESTION, "Plus costs $96 per member per year.", contexts)
        cited = score_answer(QUESTION, "Plus costs $96 per member per year [kb-002].", contexts)
        assert plain == cited

    def test_no_context_means_nothing_is_supported(self):
        scores = score_answer(QUESTION, GROUNDED, [])
        assert scores.faithfulness == 0.0
        assert scores.relevancy > 0.5

    def test_short_answer_scaled_down(self, contexts):
        short = score_answer(QUESTION, "Plus: $96.", contexts)
        assert short.explanation["length_factor"] == 0.5
        assert short.relevancy < score_answer(QUESTION, GROUNDED, contexts).relevancy

    @pytest.mark.parametrize(
        ("answer", "expected"),
        [
            ("I don't know.", True),
            ("I\u2019m not sure about that.", True),
            ("The context does not mention refunds.", True),
            ("Sorry, I cannot answer that.", True),
            ("You can cancel at any time.", False),
            ("Nobody knows the trouble I've seen.", False),
        ],
    )
    def test_is_refusal(self, answer, expected):
        assert is_refusal(answer) is expected


class TestBounds:
    """Both scores stay in [0, 1] and are deterministic, for any text."""

    @settings(max_examples=200, deadline=None)
    @given(
        question=st.text(max_size=200),
        answer=st.text(max_size=400),
        contexts=st.lists(st.text(max_size=300), max_size=4),
    )
    def test_any_text(self, question, answer, contexts):
        first = score_answer(question, answer, contexts)
        assert isinstance(first, QualityScores)
        assert 0.0 <= first.faithfulness <= 1.0
        assert 0.0 <= first.relevancy <= 1.0
        assert score_answer(question, answer, contexts) == first

    @settings(max_examples=100, deadline=None)
    @given(words=st.lists(st.sampled_from(GROUNDED.split() + MADE_UP.split()), max_size=40))
    def test_word_salad_from_real_answers(self, words):
        scores = score_answer(QUESTION, " ".join(words), [GROUNDED])
        assert 0.0 <= scores.faithfulness <= 1.0
        assert 0.0 <= scores.relevancy <= 1.0


class TestEvaluationResults:
    """Each score becomes one gen_ai.evaluation.result event: name, value, pass/fail label, numbers-only explanation."""

    QUESTION = "What is the Zephyrine upload limit for Quokkaplan?"
    ANSWER = "The Zephyrine upload limit is 50 MB on Quokkaplan, and Marmalade files are refused."
    CONTEXT = ("On Quokkaplan the Zephyrine upload limit is 50 MB per file.",)

    def test_one_event_per_score_with_its_label(self):
        scores = score_answer(self.QUESTION, self.ANSWER, self.CONTEXT)
        events = {e["gen_ai.evaluation.name"]: e for e in evaluation_results(scores)}
        assert set(events) == {"faithfulness", "relevancy"}
        for name, value in (("faithfulness", scores.faithfulness), ("relevancy", scores.relevancy)):
            assert events[name]["gen_ai.evaluation.score.value"] == value
            assert events[name]["gen_ai.evaluation.score.label"] == ("pass" if value >= PASS_THRESHOLD else "fail")
        e = scores.explanation
        assert f"{e['supported_terms']} of {e['answer_terms']} answer terms" in events["faithfulness"]["gen_ai.evaluation.explanation"]
        assert f"{e['covered_terms']} of {e['question_terms']} question terms" in events["relevancy"]["gen_ai.evaluation.explanation"]

    def test_threshold_is_inclusive_and_an_empty_answer_fails(self):
        events = evaluation_results(QualityScores(faithfulness=PASS_THRESHOLD, relevancy=0.0))
        assert [e["gen_ai.evaluation.score.label"] for e in events] == ["pass", "fail"]
        empty = evaluation_results(score_answer(self.QUESTION, "", self.CONTEXT))
        assert {e["gen_ai.evaluation.score.label"] for e in empty} == {"fail"}

    def test_explanations_hold_no_word_of_question_answer_or_context(self):
        scores = score_answer(self.QUESTION, self.ANSWER, self.CONTEXT)
        assert scores.explanation["unsupported_terms"]  # the explanation dict does list words...
        text = " ".join(str(v) for e in evaluation_results(scores) for v in e.values()).lower()
        for word in ("zephyrine", "quokkaplan", "marmalade", "upload", "limit"):  # ...the events never do
            assert word not in text

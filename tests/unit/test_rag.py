"""Unit tests for demo_app.app.rag: the corpus, tokenisation, BM25 search and prompt building."""

from __future__ import annotations

import itertools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from demo_app.app.rag import (
    DEFAULT_CORPUS_PATH,
    FEATURES,
    Document,
    Hit,
    Retriever,
    build_messages,
    load_corpus,
    tokenize,
)

# Share no indexed word with the corpus.
OFF_TOPIC = [
    "recipe for banana bread",
    "who won the football world cup in 1998",
    "how to bake sourdough with rye flour",
]
# Share one stray word with it ("tomorrow", "near", "time", "fix"): they match weakly.
OFF_TOPIC_STRAY = [
    "weather forecast for paris tomorrow",
    "best hiking trails near the volcano",
    "what time does the train to london leave",
    "how to fix a flat bicycle tyre",
]


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return load_corpus()


class TestTokenize:
    """Tokens are lower-case content words and whole numbers; word forms share one stem."""

    def test_drops_stopwords_and_question_words(self):
        assert tokenize("How do I reset my password?") == ["reset", "password"]

    def test_keeps_numbers_whole(self):
        assert tokenize("Up to 1,000 rows, 2.5 GB or $96") == ["1000", "row", "2.5", "gb", "96"]

    def test_inflections_meet(self):
        forms = ["share", "shared", "sharing", "shares"]
        assert len({tokenize(f)[0] for f in forms}) == 1
        assert tokenize("policies") == tokenize("policy")

    def test_content_word_that_stems_like_a_stopword_is_kept(self):
        assert tokenize("meeting notes") == ["meet", "not"]

    def test_only_stopwords_gives_nothing(self):
        assert tokenize("what is it that you would do?") == []


class TestCorpus:
    """The bundled corpus is large, well-formed, varied, and every question is answerable."""

    def test_size_and_unique_ids(self, docs):
        assert len(docs) >= 100
        ids = [d.id for d in docs]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"kb-\d{3}", i) for i in ids)

    def test_every_line_has_the_schema(self):
        for line in DEFAULT_CORPUS_PATH.read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            assert set(raw) == {"id", "title", "category", "text", "questions"}, raw["id"]
            for key in ("title", "category", "text"):
                assert isinstance(raw[key], str) and raw[key].strip(), (raw["id"], key)

    def test_document_length_is_short(self, docs):
        lengths = {d.id: len(d.text.split()) for d in docs}
        assert {i: n for i, n in lengths.items() if not 60 <= n <= 150} == {}

    def test_two_or_three_distinct_questions_each(self, docs):
        assert all(2 <= len(d.questions) <= 3 for d in docs)
        questions = [q.lower() for d in docs for q in d.questions]
        assert len(set(questions)) == len(questions)
        assert all(q.endswith("?") for q in questions)

    def test_covers_many_categories(self, docs):
        assert len({d.category for d in docs}) >= 10

    def test_no_near_duplicate_documents(self, docs):
        terms = {d.id: set(tokenize(d.text)) for d in docs}
        worst = max(
            (len(terms[a] & terms[b]) / len(terms[a] | terms[b]), a, b)
            for a, b in itertools.combinations(terms, 2)
        )
        assert worst[0] < 0.5, worst


class TestLoadCorpusErrors:
    """A broken corpus file fails loudly with the file and line."""

    def _write(self, tmp_path: Path, lines: list[str]) -> Path:
        path = tmp_path / "corpus.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def test_duplicate_id(self, tmp_path):
        doc = json.dumps({"id": "kb-1", "title": "t", "category": "c", "text": "x"})
        with pytest.raises(ValueError, match=r"corpus.jsonl:2: duplicate document id 'kb-1'"):
            load_corpus(self._write(tmp_path, [doc, doc]))

    def test_missing_field(self, tmp_path):
        with pytest.raises(ValueError, match=r"corpus.jsonl:1: bad corpus entry .*title"):
            load_corpus(self._write(tmp_path, [json.dumps({"id": "a", "text": "x"})]))

    def test_empty_file(self, tmp_path):
        with pytest.raises(ValueError, match="empty"):
            load_corpus(self._write(tmp_path, [""]))


class TestRetrievalQuality:
    """Each document's own questions retrieve it: hit@4 over the whole corpus is at least 0.9."""

    def test_hit_at_4_over_corpus(self, retriever):
        pairs = [(d.id, q) for d in retriever.documents for q in d.questions]
        ranks = []
        for doc_id, question in pairs:
            ids = [h.doc_id for h in retriever.search(question, k=4)]
            ranks.append(ids.index(doc_id) + 1 if doc_id in ids else None)
        hit4 = sum(r is not None for r in ranks) / len(pairs)
        hit1 = sum(r == 1 for r in ranks) / len(pairs)
        print(f"\nretrieval over {len(pairs)} corpus questions: hit@1={hit1:.3f} hit@4={hit4:.3f}")
        assert hit4 >= 0.9
        assert hit1 >= 0.7

    def test_paraphrase_finds_the_right_doc(self, retriever):
        ids = [h.doc_id for h in retriever.search("my credit card got declined", k=4)]
        assert "kb-009" in ids  # what happens when a payment fails


class TestOffTopic:
    """Off-topic queries return nothing, or score far below the corpus's own questions."""

    @pytest.mark.parametrize("query", OFF_TOPIC)
    def test_off_topic_returns_nothing(self, retriever, query):
        assert retriever.search(query) == []

    def test_stray_word_matches_score_low(self, retriever):
        real = sorted(
            retriever.search(q, k=1)[0].score for d in retriever.documents for q in d.questions
        )
        median = real[len(real) // 2]
        stray = {q: retriever.search(q, k=1)[0].score for q in OFF_TOPIC_STRAY}
        print(f"\nmedian top score of corpus questions {median:.2f}; off-topic: {stray}")
        assert max(stray.values()) < 0.6 * median

    @pytest.mark.parametrize("query", ["", "   ", "what is it?", "!!!"])
    def test_empty_queries_return_nothing(self, retriever, query):
        assert retriever.search(query) == []

    def test_partly_related_query_scores_below_a_real_question(self, retriever):
        stray = retriever.search("banana bread recipe for the team", k=1)
        real = retriever.search("How do I invite guests to a page?", k=1)
        assert real and (not stray or stray[0].score < real[0].score / 2)


class TestSearchResults:
    """Results are the best k documents, sorted by score, above min_score, and thread-safe."""

    QUERY = "How long does the workspace export download link stay valid?"

    def test_sorted_desc_and_positive(self, retriever):
        hits = retriever.search(self.QUERY, k=10)
        scores = [h.score for h in hits]
        assert len(hits) == 10
        assert scores == sorted(scores, reverse=True)
        assert all(s > 0 for s in scores)

    def test_k_limits_and_top_is_stable(self, retriever):
        ten = retriever.search(self.QUERY, k=10)
        assert retriever.search(self.QUERY, k=3) == ten[:3]
        assert retriever.search(self.QUERY, k=0) == []
        assert len(retriever.search(self.QUERY, k=10_000)) <= len(retriever)

    def test_min_score_filters(self, retriever):
        hits = retriever.search(self.QUERY, k=10)
        cut = hits[2].score
        filtered = retriever.search(self.QUERY, k=10, min_score=cut)
        assert filtered == [h for h in hits if h.score > cut]

    def test_hit_carries_the_document(self, retriever):
        top = retriever.search(self.QUERY, k=1)[0]
        doc = {d.id: d for d in retriever.documents}[top.doc_id]
        assert isinstance(top, Hit)
        assert (top.title, top.text) == (doc.title, doc.text)
        assert top.doc_id == "kb-066"

    def test_concurrent_searches_match_serial(self, retriever):
        queries = [q for d in retriever.documents[:40] for q in d.questions]
        serial = [retriever.search(q) for q in queries]
        with ThreadPoolExecutor(max_workers=8) as pool:
            parallel = list(pool.map(retriever.search, queries * 3))
        assert parallel == serial * 3

    def test_retriever_over_given_documents(self):
        docs = [
            Document("a", "Cats", "pets", "Cats purr and sleep all day.", ()),
            Document("b", "Dogs", "pets", "Dogs bark at the mail carrier.", ()),
        ]
        assert [h.doc_id for h in Retriever(docs).search("why do dogs bark")] == ["b"]
        with pytest.raises(ValueError):
            Retriever([])


class TestBuildMessages:
    """Messages are a per-feature system prompt with `[doc_id] text` context, then the question."""

    @pytest.fixture
    def hits(self, retriever) -> list[Hit]:
        return retriever.search("How do I turn on two-factor authentication?")

    @pytest.mark.parametrize("feature", FEATURES)
    def test_shape_and_context(self, hits, feature):
        messages = build_messages("How do I turn on 2FA?", hits, feature)
        assert [m["role"] for m in messages] == ["system", "user"]
        assert messages[1]["content"] == "How do I turn on 2FA?"
        system = messages[0]["content"]
        for hit in hits:
            assert f"\n[{hit.doc_id}] {hit.text}" in system

    def test_instructions_differ_per_feature(self, hits):
        systems = {build_messages("q", hits, f)[0]["content"] for f in FEATURES}
        assert len(systems) == len(FEATURES)

    def test_no_hits_says_so(self):
        assert "(no matching documents)" in build_messages("q", [], "qa")[0]["content"]

    def test_unknown_feature(self, hits):
        with pytest.raises(ValueError, match="unknown prompt 'agent'"):
            build_messages("q", hits, "agent")

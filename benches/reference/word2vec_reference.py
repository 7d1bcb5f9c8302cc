"""Reference for `cargo xtask bench word2vec`: gensim's Word2Vec with mm's hyper-parameters on the same corpus.

    python benches/reference/word2vec_reference.py CORPUS TEXT_DIR THREADS DIM WINDOW NEGATIVE MIN_COUNT SAMPLE ALPHA EPOCHS SEED VECTORS

Writes the trained vectors to VECTORS (word2vec binary format, frequency order), so that mm scores them with the
same evaluator as its own, and prints one JSON object: wall time, words per second (corpus tokens × epochs / wall),
and gensim's own scores (analogy accuracy over the 30,000 most frequent words, Spearman correlations on WordSim353
and SimLex-999), which the xtask prints beside mm's scores of the same vectors.
Lines are sentences (split into pieces of at most 10,000 words, gensim's limit).
"""
import gzip
import json
import sys
import time

import gensim
from gensim.models import Word2Vec

corpus, text_dir = sys.argv[1], sys.argv[2]
threads, dim, window, negative, min_count = map(int, sys.argv[3:8])
sample, alpha = float(sys.argv[8]), float(sys.argv[9])
epochs, seed = int(sys.argv[10]), int(sys.argv[11])
vectors_path = sys.argv[12]


class Sentences:
    def __iter__(self):
        opener = gzip.open if corpus.endswith(".gz") else open
        with opener(corpus, "rt") as lines:
            for line in lines:
                words = line.split()
                for start in range(0, len(words), 10000):
                    yield words[start:start + 10000]


tokens = sum(len(s) for s in Sentences())
start = time.time()
model = Word2Vec(
    Sentences(), vector_size=dim, window=window, negative=negative, min_count=min_count, sample=sample,
    alpha=alpha, min_alpha=alpha * 1e-4, sg=1, hs=0, epochs=epochs, workers=threads, seed=seed,
)
wall = time.time() - start
model.wv.save_word2vec_format(vectors_path, binary=True)
analogy, _ = model.wv.evaluate_word_analogies(f"{text_dir}/questions-words.txt", restrict_vocab=30000)
wordsim = model.wv.evaluate_word_pairs(f"{text_dir}/wordsim353.tsv")
simlex = model.wv.evaluate_word_pairs(f"{text_dir}/simlex999.txt")
print(json.dumps({
    "version": gensim.__version__,
    "wall_s": wall,
    "words_per_s": tokens * epochs / wall,
    "analogy": analogy,
    "wordsim353": wordsim[1][0],
    "simlex999": simlex[1][0],
}))

"""rnnkit.text — tokenizers, ``Vocab``, ``pad_sequences`` and length-bucketed batching.

Depends on nothing else in rnnkit.
"""

from rnnkit.text.batching import BucketBatchSampler, TextBatch, collate_padded, pad_batch
from rnnkit.text.padding import pad_sequences, sequence_lengths
from rnnkit.text.tokenize import char_tokenize, detokenize, unicode_word_tokenize, word_tokenize
from rnnkit.text.tokenizer import Tokenizer, text_to_word_sequence, tokenizer_from_json
from rnnkit.text.vocab import Vocab

__all__ = [
    "BucketBatchSampler",
    "TextBatch",
    "Tokenizer",
    "Vocab",
    "char_tokenize",
    "collate_padded",
    "detokenize",
    "pad_batch",
    "pad_sequences",
    "sequence_lengths",
    "text_to_word_sequence",
    "tokenizer_from_json",
    "unicode_word_tokenize",
    "word_tokenize",
]

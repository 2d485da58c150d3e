"""Stage one of PGKPR (paper section 3): keyword probabilities by gradient attribution.

`examples` builds the 4N paraphrase-classification examples, `train` fine-tunes a BERT-style
classifier on them, `attribution` turns its input gradients into one keyword probability per word,
`plot` draws the keyword POS-family histogram of the paper's Figures 3 and 4, and `cli` is the
`pgkpr-keywords` command around them.
"""

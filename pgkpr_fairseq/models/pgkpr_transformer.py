"""The PGKPR Transformer: fairseq's Transformer plus a reconstruction head on the encoder (paper §4)."""
from typing import Optional

import torch
import torch.nn.functional as F
from fairseq.models import register_model, register_model_architecture
from fairseq.models.transformer import TransformerModel, base_architecture
from fairseq.modules import LearnedPositionalEmbedding, SinusoidalPositionalEmbedding
from torch import nn

from .. import perturb


def mean_pool(states: torch.Tensor, padding_mask) -> torch.Tensor:
    """Average of the encodings of each sequence, padding excluded. states: B x T x C."""
    if padding_mask is None:
        return states.mean(dim=1)
    keep = (~padding_mask).unsqueeze(-1).type_as(states)
    return (states * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)


def after_first(tokens: torch.Tensor, sep: int) -> torch.Tensor:
    """B x T booleans: the tokens after the first `sep` of their row (TS_s's second half)."""
    is_sep = tokens.eq(sep).long()
    return (torch.cumsum(is_sep, dim=1) - is_sep) > 0


def two_part_positions(tokens: torch.Tensor, pad: int, sep: int) -> torch.Tensor:
    """fairseq's position numbers (from pad + 1, pad at padding), restarted after the first `sep`.

    For TS_s = w_1..w_l [SEP] v_1..v_l </s>: w_i and v_i, the two views of word i, both get
    position i (pad + i); [SEP] and </s> both get l + 1. Rows without `sep` keep fairseq's
    sequential numbering. Works with left and right padding.
    """
    real = tokens.ne(pad).long()
    counted = torch.cumsum(real, dim=1)  # 1-based position among the real tokens
    sep_position = (counted * tokens.eq(sep).long()).max(dim=1, keepdim=True).values
    positions = torch.where(after_first(tokens, sep), counted - sep_position, counted)
    return (positions * real) + pad


class TwoPartPositions(nn.Module):
    """The encoder's position embedding for the two halves of TS_s (and of `s [SEP] POS(s)`).

    Replaces `encoder.embed_positions`: `aligned` numbers each half from the start
    (`two_part_positions`), so that both views of a word share a position; `segments` adds a
    learned embedding of the half (before and including [SEP], after it).
    """

    def __init__(self, positions: nn.Module, pad: int, sep: int, aligned: bool, segments: bool):
        super().__init__()
        if not isinstance(positions, (SinusoidalPositionalEmbedding, LearnedPositionalEmbedding)):
            raise ValueError(f"two-part positions need fairseq's sinusoidal or learned position "
                             f"embeddings, not {type(positions).__name__}")
        self.positions = positions
        self.pad, self.sep, self.aligned = pad, sep, aligned
        self.max_positions = positions.max_positions
        self.segments = None
        if segments:
            self.segments = nn.Embedding(2, positions.embedding_dim)
            nn.init.normal_(self.segments.weight, mean=0, std=positions.embedding_dim ** -0.5)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if not self.aligned:
            embedded = self.positions(tokens)
        else:
            sinusoidal = isinstance(self.positions, SinusoidalPositionalEmbedding)
            if sinusoidal:
                self.positions(tokens)  # sizes its table for this length; the lookup is ours
            table = self.positions.weights if sinusoidal else self.positions.weight
            embedded = F.embedding(two_part_positions(tokens, self.pad, self.sep), table, self.pad)
        if self.segments is not None:
            embedded = embedded + self.segments(after_first(tokens, self.sep).long())
        return embedded


class ReconstructionHead(nn.Module):
    """Predicts, from an encoder output, the token at that position of the reconstruction target.

    A BERT-style transform (dense, GELU, layer norm), then the output projection tied to the shared
    token embeddings, as the decoder's is: targets are dictionary tokens (POS tags, words, [NOK]).
    """

    def __init__(self, embed_dim: int, embedding_weight: nn.Parameter):
        super().__init__()
        self.dense = nn.Linear(embed_dim, embed_dim)
        self.layer_norm = nn.LayerNorm(embed_dim)
        self.weight = embedding_weight
        self.bias = nn.Parameter(torch.zeros(embedding_weight.size(0)))

    def forward(self, features: torch.Tensor, vocabulary: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """Logits over the dictionary, or over the tokens `vocabulary` lists (in its order)."""
        hidden = self.layer_norm(F.gelu(self.dense(features)))
        if vocabulary is None:
            return F.linear(hidden, self.weight, self.bias)
        return F.linear(hidden, self.weight[vocabulary], self.bias[vocabulary])


@register_model("pgkpr_transformer")
class PGKPRTransformerModel(TransformerModel):
    """fairseq's TransformerModel (so every `transformer` option applies) with:

    - `forward(..., return_encoder_out=True)`: the decoder output's extra dict also carries the
      encoder output, so the criterion can reconstruct and pool without a second encoder pass;
    - `reconstruction_head`: logits over the dictionary for encoder outputs (L_rec, eq. 2);
    - `encode_pooled`: mean-pooled encodings of other inputs (the contrastive inputs of eq. 3);
    - `--two-part-positions aligned` / `--segment-embeddings`: the encoder's positions for TS_s's
      two halves (`TwoPartPositions`).
    """

    @classmethod
    def add_args(cls, parser):
        super().add_args(parser)
        parser.add_argument(
            "--two-part-positions", choices=["sequential", "aligned"],
            help="encoder positions of TS_s = part1 [SEP] part2 (and of s [SEP] POS(s)): "
                 "'sequential' numbers all 2l+1 tokens in turn (fairseq's default; the paper "
                 "says nothing); 'aligned' restarts after [SEP], so both views of word i share "
                 "position i (like the authors' 'double positional encoding' option)")
        parser.add_argument(
            "--segment-embeddings", action="store_true",
            help="add a learned embedding of the half of TS_s each token is in (before and "
                 "including [SEP], after it)")

    @classmethod
    def build_model(cls, args, task):
        model = super().build_model(args, task)
        aligned = getattr(args, "two_part_positions", "sequential") == "aligned"
        segments = getattr(args, "segment_embeddings", False)
        if aligned or segments:
            if model.encoder.embed_positions is None:
                raise ValueError("--two-part-positions aligned and --segment-embeddings need "
                                 "position embeddings (not --no-token-positional-embeddings)")
            dictionary = task.source_dictionary
            model.encoder.embed_positions = TwoPartPositions(
                model.encoder.embed_positions, dictionary.pad(), dictionary.index(perturb.SEP),
                aligned, segments)
        return model

    def __init__(self, args, encoder, decoder):
        super().__init__(args, encoder, decoder)
        self.reconstruction_head = ReconstructionHead(
            encoder.embed_tokens.embedding_dim, encoder.embed_tokens.weight
        )

    def forward(
        self,
        src_tokens,
        src_lengths,
        prev_output_tokens,
        return_all_hiddens: bool = False,
        features_only: bool = False,
        alignment_layer=None,
        alignment_heads=None,
        return_encoder_out: bool = False,
    ):
        encoder_out = self.encoder(
            src_tokens, src_lengths=src_lengths, return_all_hiddens=return_all_hiddens
        )
        decoder_out = self.decoder(
            prev_output_tokens,
            encoder_out=encoder_out,
            features_only=features_only,
            alignment_layer=alignment_layer,
            alignment_heads=alignment_heads,
            src_lengths=src_lengths,
            return_all_hiddens=return_all_hiddens,
        )
        if return_encoder_out:
            decoder_out[1]["encoder_out"] = encoder_out
        return decoder_out

    @staticmethod
    def encoder_states(encoder_out):
        """(B x T x C encodings, B x T padding mask or None) from an encoder output dict."""
        states = encoder_out["encoder_out"][0].transpose(0, 1)
        masks = encoder_out["encoder_padding_mask"]
        return states, (masks[0] if len(masks) > 0 else None)

    def encode_pooled(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean-pooled encoder outputs of a batch of token sequences: B x C."""
        return mean_pool(*self.encoder_states(self.encoder(tokens, src_lengths=lengths)))


@register_model_architecture("pgkpr_transformer", "pgkpr_transformer")
def pgkpr_transformer(args):
    """The paper's §5.3: 6+6 layers, 8 heads, 512 wide, FFN 2048, dropout 0.1, shared embeddings."""
    args.dropout = getattr(args, "dropout", 0.1)
    args.share_all_embeddings = getattr(args, "share_all_embeddings", True)
    args.two_part_positions = getattr(args, "two_part_positions", "sequential")
    args.segment_embeddings = getattr(args, "segment_embeddings", False)
    base_architecture(args)


@register_model_architecture("pgkpr_transformer", "pgkpr_transformer_small")
def pgkpr_transformer_small(args):
    """3+3 layers, 4 heads, 256 wide, FFN 1024: trains on a 2-core CPU."""
    for side in ("encoder", "decoder"):
        setattr(args, f"{side}_layers", getattr(args, f"{side}_layers", 3))
        setattr(args, f"{side}_embed_dim", getattr(args, f"{side}_embed_dim", 256))
        setattr(args, f"{side}_ffn_embed_dim", getattr(args, f"{side}_ffn_embed_dim", 1024))
        setattr(args, f"{side}_attention_heads", getattr(args, f"{side}_attention_heads", 4))
    pgkpr_transformer(args)

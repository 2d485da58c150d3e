"""The PGKPR Transformer: fairseq's Transformer plus a reconstruction head on the encoder (paper §4)."""
import torch
import torch.nn.functional as F
from fairseq.models import register_model, register_model_architecture
from fairseq.models.transformer import TransformerModel, base_architecture
from torch import nn


def mean_pool(states: torch.Tensor, padding_mask) -> torch.Tensor:
    """Average of the encodings of each sequence, padding excluded. states: B x T x C."""
    if padding_mask is None:
        return states.mean(dim=1)
    keep = (~padding_mask).unsqueeze(-1).type_as(states)
    return (states * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)


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

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.linear(self.layer_norm(F.gelu(self.dense(features))), self.weight, self.bias)


@register_model("pgkpr_transformer")
class PGKPRTransformerModel(TransformerModel):
    """fairseq's TransformerModel (so every `transformer` option applies) with:

    - `forward(..., return_encoder_out=True)`: the decoder output's extra dict also carries the
      encoder output, so the criterion can reconstruct and pool without a second encoder pass;
    - `reconstruction_head`: logits over the dictionary for encoder outputs (L_rec, eq. 2);
    - `encode_pooled`: mean-pooled encodings of other inputs (the contrastive inputs of eq. 3).
    """

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

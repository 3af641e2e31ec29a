"""Pairs: image/alt-text harvesting and caption rules for the ALIGN/LTIP/VTP pair datasets."""

"""Spotting: when expressions happen. The streaming apex spotter (signal, apex), offline interval
spotting for long videos (intervals), and the MEGC spotting metric (metrics, truth)."""

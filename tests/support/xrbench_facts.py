"""Facts about the XRBench networks that several test files check against.

Layer counts per network, from the XRBench scenario files (shared/xrbench/README.md, "Networks
per scenario").
"""

LAYER_COUNTS = {
    "ES_RITNet": 42,
    "GE_FBNet_C": 63,
    "HT_hand_graph_cnn_half": 224,
    "ASR_EM_24L": 120,
    "SS_HRViT_b1": 423,
    "DE_midas_v21_small": 92,
    "PD_Plane_RCNN_Quarter": 153,
    "OD_D2go_FasterRCNN": 138,
    "D2go_FastRCNN": 138,
    "DR_RGBd_200": 34,
    "AS_ED_TCN": 4,
    "KD_res8_narrow": 8,
}

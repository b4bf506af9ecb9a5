namespace RouterExtProc.Inference;

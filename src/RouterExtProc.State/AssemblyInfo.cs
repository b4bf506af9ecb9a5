namespace RouterExtProc.State;

Console.WriteLine("loadgen: not built yet");
return 0;

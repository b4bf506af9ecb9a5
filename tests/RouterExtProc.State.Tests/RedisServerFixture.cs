using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RouterExtProc.State.Tests;

/// <summary>
/// A real redis-server child process on a free loopback port, without persistence. <see cref="Stop"/> and
/// <see cref="Start"/> simulate an outage (the restart comes back empty, as a non-persistent Redis would).
/// Has no dependency on StackExchange.Redis, so other test projects can link this file.
/// </summary>
public sealed class RedisServerFixture : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private Process? _process;

    private RedisServerFixture(string executable, int port)
    {
        Executable = executable;
        Port = port;
    }

    public string Executable { get; }

    public int Port { get; }

    /// <summary>host:port for clients.</summary>
    public string Endpoint => "127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>redis-server from REDIS_SERVER, /usr/bin, /usr/local/bin or PATH; null when not installed.</summary>
    public static string? FindExecutable()
    {
        var configured = Environment.GetEnvironmentVariable("REDIS_SERVER");
        if (!string.IsNullOrEmpty(configured) && File.Exists(configured))
        {
            return configured;
        }

        string[] candidates = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(directory, "redis-server");
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>Starts a server on a free port (or ignores the calling test when redis-server is not installed).</summary>
    public static RedisServerFixture StartNew()
    {
        var executable = FindExecutable();
        if (executable is null)
        {
            Assert.Ignore("redis-server is not installed (set REDIS_SERVER to its path)");
        }

        // A port found free can be taken by another test process before redis-server binds it (test projects run
        // in parallel); redis-server then exits at once, and a fresh port is tried.
        for (int attempt = 1; ; attempt++)
        {
            var fixture = new RedisServerFixture(executable!, FreePort());
            try
            {
                fixture.Start();
                return fixture;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                fixture.Stop();
            }
        }
    }

    /// <summary>Starts the server on <see cref="Port"/> and waits until it answers PING.</summary>
    public void Start()
    {
        if (IsRunning)
        {
            return;
        }

        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"])
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (!Ping())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} on port {Port}");
            }

            if (deadline.Elapsed > StartTimeout)
            {
                Stop();
                throw new TimeoutException($"redis-server did not answer PING on port {Port} within {StartTimeout}");
            }

            Thread.Sleep(20); // polling interval of a bounded wait, not synchronisation by sleeping
        }
    }

    /// <summary>Kills the server (an abrupt outage: open connections are reset).</summary>
    public void Stop()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(10_000);
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open but nothing answers, like a hung or overloaded Redis.</summary>
    public void Pause() => Signal("-STOP");

    /// <summary>Lets a paused server run again (SIGCONT).</summary>
    public void Resume() => Signal("-CONT");

    /// <summary>True when the server answers PING with PONG.</summary>
    public bool Ping()
    {
        try
        {
            using var client = new TcpClient();
            client.ReceiveTimeout = 1000;
            client.SendTimeout = 1000;
            client.Connect(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[64];
            var read = stream.Read(buffer, 0, buffer.Length);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (IsRunning)
        {
            Resume();
        }

        Stop();
    }

    private void Signal(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("redis-server is not running");
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("kill did not start");
        kill.WaitForExit(10_000);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {signal} {process.Id} exited with {kill.ExitCode}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

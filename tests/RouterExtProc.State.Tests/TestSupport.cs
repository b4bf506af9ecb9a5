using System.Diagnostics;
using System.Numerics.Tensors;

namespace RouterExtProc.State.Tests;

/// <summary>A clock the tests move by hand.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _utcTicks;

    public ManualTimeProvider(DateTimeOffset start) => _utcTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);
}

internal static class Vectors
{
    public const int Dimension = 64;

    public static float[] Random(int seed, int dimension = Dimension)
    {
        var random = new Random(seed);
        var vector = new float[dimension];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(random.NextDouble() * 2 - 1);
        }

        TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);
        return vector;
    }

    /// <summary>A unit vector whose cosine with <paramref name="unit"/> is exactly <paramref name="cosine"/>.</summary>
    public static float[] WithCosine(float[] unit, float cosine, int seed)
    {
        var other = Random(seed, unit.Length);
        var projection = TensorPrimitives.Dot(other, unit);
        var orthogonal = new float[unit.Length];
        for (var i = 0; i < orthogonal.Length; i++)
        {
            orthogonal[i] = other[i] - (projection * unit[i]);
        }

        TensorPrimitives.Divide(orthogonal, TensorPrimitives.Norm(orthogonal), orthogonal);
        var sine = MathF.Sqrt(1 - (cosine * cosine));
        var result = new float[unit.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (cosine * unit[i]) + (sine * orthogonal[i]);
        }

        return result;
    }
}

internal static class Eventually
{
    /// <summary>Polls <paramref name="probe"/> until <paramref name="done"/> holds or the deadline passes; returns the last value.</summary>
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (done(value) || clock.Elapsed > timeout)
            {
                return value;
            }

            await Task.Delay(25);
        }
    }
}

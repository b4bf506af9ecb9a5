using System.Buffers;

namespace RouterExtProc.Inference.Tokenization;

/// <summary>
/// Token ids with their [start, end) character offsets and whether each is a WordPiece continuation ("##") piece, in
/// pooled arrays that grow as needed.
/// </summary>
internal sealed class TokenBuffer : IDisposable
{
    private long[] _ids;
    private int[] _starts;
    private int[] _ends;
    private bool[] _continues;

    public TokenBuffer(int capacity)
    {
        capacity = Math.Max(capacity, 8);
        _ids = ArrayPool<long>.Shared.Rent(capacity);
        _starts = ArrayPool<int>.Shared.Rent(capacity);
        _ends = ArrayPool<int>.Shared.Rent(capacity);
        _continues = ArrayPool<bool>.Shared.Rent(capacity);
    }

    public int Count { get; private set; }

    public ReadOnlySpan<long> Ids => _ids.AsSpan(0, Count);

    public ReadOnlySpan<int> Starts => _starts.AsSpan(0, Count);

    public ReadOnlySpan<int> Ends => _ends.AsSpan(0, Count);

    /// <summary>True where a token continues the word of the token before it (a "##" piece).</summary>
    public ReadOnlySpan<bool> Continues => _continues.AsSpan(0, Count);

    public void Clear() => Count = 0;

    public void Truncate(int count) => Count = Math.Min(Count, count);

    public void Add(long id, int start, int end, bool continues = false)
    {
        if (Count == _ids.Length)
        {
            Grow(Count + 1);
        }

        _ids[Count] = id;
        _starts[Count] = start;
        _ends[Count] = end;
        _continues[Count] = continues;
        Count++;
    }

    public void AppendRange(TokenBuffer other, int from, int count)
    {
        if (count <= 0)
        {
            return;
        }

        if (Count + count > _ids.Length)
        {
            Grow(Count + count);
        }

        other._ids.AsSpan(from, count).CopyTo(_ids.AsSpan(Count));
        other._starts.AsSpan(from, count).CopyTo(_starts.AsSpan(Count));
        other._ends.AsSpan(from, count).CopyTo(_ends.AsSpan(Count));
        other._continues.AsSpan(from, count).CopyTo(_continues.AsSpan(Count));
        Count += count;
    }

    private void Grow(int needed)
    {
        int size = Math.Max(needed, _ids.Length * 2);
        Resize(ref _ids, size, Count);
        Resize(ref _starts, size, Count);
        Resize(ref _ends, size, Count);
        Resize(ref _continues, size, Count);
    }

    private static void Resize<T>(ref T[] array, int size, int used)
    {
        T[] bigger = ArrayPool<T>.Shared.Rent(size);
        array.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array);
        array = bigger;
    }

    public void Dispose()
    {
        if (_ids.Length == 0)
        {
            return;
        }

        ArrayPool<long>.Shared.Return(_ids);
        ArrayPool<int>.Shared.Return(_starts);
        ArrayPool<int>.Shared.Return(_ends);
        ArrayPool<bool>.Shared.Return(_continues);
        _ids = [];
        _starts = [];
        _ends = [];
        _continues = [];
        Count = 0;
    }
}

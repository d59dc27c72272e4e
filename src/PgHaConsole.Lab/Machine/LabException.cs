namespace PgHaConsole.Lab;

/// <summary>A refusal or failure of the lab, with the one thing the operator should do about it.</summary>
public sealed class LabException : Exception
{
    public LabException()
    {
        Fix = string.Empty;
    }

    public LabException(string message)
        : base(message)
    {
        Fix = string.Empty;
    }

    public LabException(string message, Exception innerException)
        : base(message, innerException)
    {
        Fix = string.Empty;
    }

    public LabException(string message, string fix)
        : base(message)
    {
        Fix = fix;
    }

    /// <summary>How to fix it, written for a person at a terminal.</summary>
    public string Fix { get; }
}

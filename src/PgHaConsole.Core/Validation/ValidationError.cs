namespace PgHaConsole.Core.Validation;

/// <summary>A problem with one field of user input, named so a form or a 400 can point at it.</summary>
public sealed record ValidationError(string Field, string Message);

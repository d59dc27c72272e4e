using Hangfire.Logging;

namespace PgHaConsole.Web.Hosting;

/// <summary>
/// Hangfire keeps its log provider in a process-wide static. When several hosts live in one process (the web tests
/// run several, in parallel), the last one configured wins and, once disposed, its LoggerFactory throws for every
/// other host. This provider falls back to a silent logger instead; with one host (production) it changes nothing.
/// </summary>
internal sealed class ResilientHangfireLogProvider(ILogProvider inner) : ILogProvider
{
    public ILog GetLogger(string name)
    {
        try
        {
            return new ResilientLog(inner.GetLogger(name));
        }
        catch (ObjectDisposedException)
        {
            return SilentLog.Instance;
        }
    }

    private sealed class ResilientLog(ILog inner) : ILog
    {
        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string> messageFunc, Exception exception)
        {
            try
            {
                return inner.Log(logLevel, messageFunc, exception);
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    private sealed class SilentLog : ILog
    {
        public static readonly SilentLog Instance = new();

        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string> messageFunc, Exception exception) => false;
    }
}

using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.Web.Tests;

/// <summary>The probe's PostgreSQL half takes its share of a longer probe bound (slow hosts: the UML lab's guest).</summary>
public sealed class ProbeTimeoutsTests
{
    [Theory]
    [InlineData(3, 2)]
    [InlineData(5, 2)]
    [InlineData(10, 4)]
    [InlineData(25, 10)]
    public void The_postgres_timeouts_are_two_seconds_at_the_default_bound_and_grow_with_it(int probeSeconds, int expected) =>
        Assert.Equal(expected, NodeProber.PostgresSeconds(TimeSpan.FromSeconds(probeSeconds)));
}

using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Tests.Model;

public sealed class LabImportTests
{
    private static LabInfo Lab(bool ipvs) => new(
        [
            new LabNode("pg1", "198.18.4.247", 22, "root", "/k", "SHA256:a", "/usr/lib/postgresql/15/bin", "/data10/pgdata", 5432, "postgres", "pghalab-pg1", "/var/log/pg.log"),
            new LabNode("pg2", "198.18.4.248", 22, "root", "/k", "SHA256:b", "/usr/lib/postgresql/15/bin", "/data10/pgdata", 5432, "postgres", "pghalab-pg2", "/var/log/pg.log"),
        ],
        "198.18.4.251", "198.18.4.252", "mgt", 15, "pghalab-br0", "198.18.4.1", new LabSampleDatabase("appdb", "app", "pw"), ipvs, "detail");

    [Fact]
    public void The_uml_labs_pace_and_balancer_come_with_the_import()
    {
        var uml = LabImport.ToCluster(Lab(ipvs: true) with { Kind = "uml", AdvertIntSeconds = 5m }, "lab");
        Assert.Equal(BalancerMode.LvsDr, uml.Balancer);
        Assert.Equal(5m, uml.Vrrp.AdvertIntSeconds);

        var ns = LabImport.ToCluster(Lab(ipvs: false), "lab");
        Assert.Equal(BalancerMode.Haproxy, ns.Balancer);
        Assert.Equal(1m, ns.Vrrp.AdvertIntSeconds);

        // An older lab.json without the field, or a nonsense value, gets the default pace.
        Assert.Equal(1m, LabImport.ToCluster(Lab(ipvs: true) with { AdvertIntSeconds = 0m }, "lab").Vrrp.AdvertIntSeconds);
    }
}

// ns-3 scenario for netgym-lite's fidelity benchmark (benchmarks/vs_ns3.py): the layouts of
// shared/reference/ns3.md, downlink UDP CBR from one remote host to N static users over Wi-Fi, LTE (with EPC)
// or both links per user with a static split; with --uplink the same flows run from the users to the remote
// host (netgym-lite's `downlink_traffic: false`).
//
// Build: benchmarks/ns3/build.sh (g++ against the PyPI `ns3` wheel). Run:
//   netgym_ns3_scenario --layout=wifi|lte|both --users=4 --rateMbps=5 --simTime=10 --appStart=1 --seed=1
//                       --split=0.5 --positions="x,y;x,y;..." [--ap=x,y,z] [--enb=x,y,z] [--out=result.json]
//                       [--rateManager=ns3::MinstrelHtWifiManager] [--syncStart] [--populateArp] [--staHearAll]
//                       [--uplink]
// Without --positions the users are drawn uniformly over an annulus (ns-3's RNG, printed in the output).
//
// Output (JSON): per user and link, packets sent/received, received IP bytes (payload + 28 bytes UDP/IPv4
// headers, the "IP layer" throughput of ns3.md), the sum of one-way delays (remote host -> user application,
// from the SeqTs header of ns-3's UdpClient), and the same counters per 100 ms bin; per user the Wi-Fi
// association time and the AP's data PSDUs to it (A-MPDU size, retries, airtime, MCS histogram); the ns-3
// version, the event count and the wall time of setup, of the whole run and of the traffic phase.
//
// Layouts (ns3.md):
// - Wi-Fi: 802.11ac 5 GHz 40 MHz, 1 spatial stream, 800 ns GI (ns-3's default long GI), A-MPDU 65,535 B
//   with Block Ack, EDCA best effort, MinstrelHt; YANS channel, log-distance exponent 3 / 46.68 dB at 1 m;
//   AP 16 dBm, noise figure 7 dB. AP queueing: ns-3's default root queue disc (FqCoDel, 10,240 packets,
//   5 ms target) in front of the 500-packet / 500 ms WifiMacQueue. ARP caches are pre-populated; users sense
//   each other's frames (see InstallWifi).
// - LTE: 25 RBs, PfFfMacScheduler, SISO (transmission mode 0), EPC (PointToPointEpcHelper, GTP-U),
//   RLC UM with a 10,240-byte transmit buffer, eNB 30 dBm, UE noise figure 9 dB, EARFCN 100 (2.12 GHz),
//   log-distance exponent 3 / 38.97 dB at 1 m, no fading.
// - Both: each user has a Wi-Fi STA and an LTE UE device; the remote host sends two CBR flows per user,
//   split * rate to its Wi-Fi address and (1 - split) * rate to its LTE address (a static GMA split).
// Every backhaul (remote host -> AP, remote host -> PGW) is a 100 Gbps point-to-point link with 1 ms delay.
// Sources run from --appStart (ns3.md: 1.0 s) to --simTime.
//
// --uplink: every flow runs from the user to the remote host (UdpClient on the user, UdpServer on the remote
// host, one port per flow as downlink); over Wi-Fi to the remote host's address on the AP backhaul via the AP,
// over LTE to its address on the PGW backhaul via the PGW; each user has a host route per flow so that in layout
// "both" each flow leaves on its own link. The per-flow counters keep their meaning (delay = remote host receive
// time - user send time). LTE uplink as netgym-lite assumes: the UE sends with 23 dBm (LteUePhy::TxPower), uplink
// power control off (LteUePhy::EnableUplinkPowerControl), so the power is spread over the RBs granted; the eNB
// noise figure is ns-3's default 5 dB. The user's transmit queue is its Wi-Fi device's (FqCoDel root disc in
// front of the 500-packet WifiMacQueue) or its RLC UM buffer (10,240 bytes). "wifi_tx" then counts each user's
// own data PSDUs to the AP (not the AP's to it), and "lte_ul" (uplink only) the eNB MAC's uplink grants (count,
// MCS sum, TB bytes) and the eNB PHY's uplink TB receptions (and those in error) per user. The JSON records
// "direction": "ul" (else "dl").

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/lte-module.h"
#include "ns3/mobility-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/wifi-module.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef NS3_WHEEL_VERSION
#define NS3_WHEEL_VERSION "unknown"
#endif

using namespace ns3;

namespace
{

constexpr uint32_t kPayloadBytes = 1400;   // UDP payload (ns-3's UdpClient includes its 12-byte SeqTs header)
constexpr uint32_t kIpHeaderBytes = 28;    // IPv4 20 + UDP 8
constexpr double kBinS = 0.1;              // one NetworkGym measurement interval
constexpr double kUserHeightM = 1.5;

enum Link
{
    WIFI = 0,
    LTE = 1
};

// Counters of one (user, link) flow: totals over the run and per 100 ms bin.
struct FlowStats
{
    uint64_t txPkts = 0;
    uint64_t rxPkts = 0;
    uint64_t rxIpBytes = 0;
    double delaySumMs = 0.0;
    std::vector<uint64_t> binTx, binRx;
    std::vector<double> binDelaySumMs;
};

std::vector<FlowStats> g_flows; // index = user * 2 + link
std::chrono::steady_clock::time_point g_trafficWallStart; // wall clock when the sources start
// Data PSDUs the AP sends to each user (A-MPDU size, retransmissions, airtime, MCS): the MAC behaviour
// netgym-lite abstracts, measured over the traffic window.
struct WifiTxStats
{
    uint64_t psdus = 0;
    uint64_t mpdus = 0;
    uint64_t retryMpdus = 0;
    double airtimeS = 0.0;
    std::vector<uint64_t> mcsPsdus = std::vector<uint64_t>(12, 0);
};

std::vector<WifiTxStats> g_wifiTx;
std::map<Mac48Address, uint32_t> g_userOfMac;
// Uplink only: per user, the eNB MAC's uplink grants (count, MCS sum, TB bytes) and the eNB PHY's uplink
// transport blocks received (all, in error): how ns-3 schedules and codes the LTE uplink.
struct LteUlStats
{
    uint64_t grants = 0;
    uint64_t mcsSum = 0;
    uint64_t tbBytes = 0;
    uint64_t rxTbs = 0;
    uint64_t rxTbErrors = 0;
};

std::vector<LteUlStats> g_lteUl;
std::map<uint16_t, uint32_t> g_userOfRnti; // filled when the sources start (every UE attached by then)
NetDeviceContainer g_ueLteDevs;
Mac48Address g_apMac;
double g_appStartS = 1.0;
std::string g_rateManager;
std::vector<double> g_assocS;    // per user: first Wi-Fi association time (s), -1 = never
std::vector<uint32_t> g_deassoc; // per user: Wi-Fi disassociations (beacon loss, failed association)
uint32_t g_bins = 0;

uint32_t
BinOf(Time t)
{
    auto b = static_cast<uint32_t>(t.GetSeconds() / kBinS);
    return b < g_bins ? b : g_bins - 1;
}

void
OnTx(uint32_t flow, Ptr<const Packet>)
{
    FlowStats& f = g_flows[flow];
    f.txPkts++;
    f.binTx[BinOf(Simulator::Now())]++;
}

void
OnRx(uint32_t flow, Ptr<const Packet> packet)
{
    SeqTsHeader seqTs;
    packet->PeekHeader(seqTs);
    double delayMs = (Simulator::Now() - seqTs.GetTs()).GetSeconds() * 1e3;
    FlowStats& f = g_flows[flow];
    uint32_t b = BinOf(Simulator::Now());
    f.rxPkts++;
    f.rxIpBytes += packet->GetSize() + kIpHeaderBytes;
    f.delaySumMs += delayMs;
    f.binRx[b]++;
    f.binDelaySumMs[b] += delayMs;
}

// One data PSDU into a user's counters: A-MPDU size, retried MPDUs, airtime, MCS.
void
CountPsdu(WifiTxStats& w, Ptr<const WifiPsdu> psdu, const WifiTxVector& txVector)
{
    w.psdus++;
    w.mpdus += psdu->GetNMpdus();
    for (std::size_t i = 0; i < psdu->GetNMpdus(); ++i)
    {
        w.retryMpdus += psdu->GetHeader(i).IsRetry() ? 1 : 0;
    }
    w.airtimeS += WifiPhy::CalculateTxDuration(psdu, txVector, WIFI_PHY_BAND_5GHZ).GetSeconds();
    uint8_t mcs = txVector.GetMode().GetMcsValue();
    w.mcsPsdus[mcs < 12 ? mcs : 11]++;
}

void
OnApPsduBegin(WifiConstPsduMap psdus, WifiTxVector txVector, double)
{
    if (Simulator::Now().GetSeconds() < g_appStartS)
    {
        return;
    }
    for (const auto& [staId, psdu] : psdus)
    {
        auto it = g_userOfMac.find(psdu->GetAddr1());
        if (it == g_userOfMac.end() || !psdu->GetHeader(0).IsQosData())
        {
            continue;
        }
        CountPsdu(g_wifiTx[it->second], psdu, txVector);
    }
}

// Uplink: a user's own data PSDUs to the AP (its A-MPDU size, retries, airtime, MCS).
void
OnStaPsduBegin(uint32_t user, WifiConstPsduMap psdus, WifiTxVector txVector, double)
{
    if (Simulator::Now().GetSeconds() < g_appStartS)
    {
        return;
    }
    for (const auto& [staId, psdu] : psdus)
    {
        if (psdu->GetAddr1() != g_apMac || !psdu->GetHeader(0).IsQosData())
        {
            continue;
        }
        CountPsdu(g_wifiTx[user], psdu, txVector);
    }
}

void
OnUlScheduling(uint32_t, uint32_t, uint16_t rnti, uint8_t mcs, uint16_t tbBytes, uint8_t)
{
    auto it = g_userOfRnti.find(rnti);
    if (it == g_userOfRnti.end())
    {
        return;
    }
    LteUlStats& s = g_lteUl[it->second];
    s.grants++;
    s.mcsSum += mcs;
    s.tbBytes += tbBytes;
}

void
OnUlPhyReception(PhyReceptionStatParameters p)
{
    auto it = g_userOfRnti.find(p.m_rnti);
    if (it == g_userOfRnti.end())
    {
        return;
    }
    LteUlStats& s = g_lteUl[it->second];
    s.rxTbs++;
    s.rxTbErrors += p.m_correctness ? 0 : 1;
}

void
MarkTrafficStart()
{
    g_trafficWallStart = std::chrono::steady_clock::now();
    for (uint32_t u = 0; u < g_ueLteDevs.GetN(); ++u)
    {
        g_userOfRnti[DynamicCast<LteUeNetDevice>(g_ueLteDevs.Get(u))->GetRrc()->GetRnti()] = u;
    }
}

void
OnAssoc(uint32_t user, Mac48Address)
{
    if (g_assocS[user] < 0)
    {
        g_assocS[user] = Simulator::Now().GetSeconds();
    }
}

void
OnDeAssoc(uint32_t user, Mac48Address)
{
    g_deassoc[user]++;
}

std::vector<double>
ParseNumbers(const std::string& s, char sep)
{
    std::vector<double> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep))
    {
        if (!item.empty())
        {
            out.push_back(std::stod(item));
        }
    }
    return out;
}

Vector
ParseVector(const std::string& s, const char* name)
{
    auto v = ParseNumbers(s, ',');
    if (v.size() != 3)
    {
        NS_FATAL_ERROR("--" << name << " must be x,y,z (got '" << s << "')");
    }
    return Vector(v[0], v[1], v[2]);
}

// Users at "x,y;x,y;..." (z = 1.5 m), or drawn uniformly over the annulus [rMin, rMax] around `centre`.
std::vector<Vector>
UserPositions(const std::string& spec, uint32_t n, Vector centre, double rMin, double rMax)
{
    std::vector<Vector> pos;
    if (!spec.empty())
    {
        std::stringstream ss(spec);
        std::string item;
        while (std::getline(ss, item, ';'))
        {
            auto xy = ParseNumbers(item, ',');
            if (xy.size() != 2)
            {
                NS_FATAL_ERROR("--positions: each user is x,y (got '" << item << "')");
            }
            pos.emplace_back(xy[0], xy[1], kUserHeightM);
        }
        if (pos.size() != n)
        {
            NS_FATAL_ERROR("--positions has " << pos.size() << " users, --users=" << n);
        }
        return pos;
    }
    auto u = CreateObject<UniformRandomVariable>();
    for (uint32_t i = 0; i < n; ++i)
    {
        double r = std::sqrt(u->GetValue(rMin * rMin, rMax * rMax));
        double a = u->GetValue(0.0, 2.0 * M_PI);
        pos.emplace_back(centre.x + r * std::cos(a), centre.y + r * std::sin(a), kUserHeightM);
    }
    return pos;
}

void
PlaceAt(Ptr<Node> node, Vector v)
{
    auto m = CreateObject<ConstantPositionMobilityModel>();
    m->SetPosition(v);
    node->AggregateObject(m);
}

// 100 Gbps, 1 ms point-to-point backhaul between the remote host and an access gateway.
NetDeviceContainer
Backhaul(Ptr<Node> a, Ptr<Node> b)
{
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate("100Gb/s")));
    p2p.SetDeviceAttribute("Mtu", UintegerValue(1500));
    p2p.SetChannelAttribute("Delay", TimeValue(MilliSeconds(1)));
    return p2p.Install(a, b);
}

NetDeviceContainer
InstallWifi(Ptr<Node> ap, NodeContainer stas, bool staHearAll, const std::string& rateManager)
{
    YansWifiChannelHelper channel;
    channel.SetPropagationDelay("ns3::ConstantSpeedPropagationDelayModel");
    channel.AddPropagationLoss("ns3::LogDistancePropagationLossModel",
                               "Exponent",
                               DoubleValue(3.0),
                               "ReferenceDistance",
                               DoubleValue(1.0),
                               "ReferenceLoss",
                               DoubleValue(46.68));
    YansWifiPhyHelper phy;
    phy.SetChannel(channel.Create());
    phy.Set("ChannelSettings", StringValue("{0, 40, BAND_5GHZ, 0}"));
    phy.Set("TxPowerStart", DoubleValue(16.0));
    phy.Set("TxPowerEnd", DoubleValue(16.0));
    phy.Set("RxNoiseFigure", DoubleValue(7.0));
    phy.Set("Antennas", UintegerValue(1));
    phy.Set("MaxSupportedTxSpatialStreams", UintegerValue(1));
    phy.Set("MaxSupportedRxSpatialStreams", UintegerValue(1));

    WifiHelper wifi;
    wifi.SetStandard(WIFI_STANDARD_80211ac);
    wifi.SetRemoteStationManager(rateManager);

    WifiMacHelper mac;
    Ssid ssid("netgym-lite");
    mac.SetType("ns3::StaWifiMac",
                "Ssid",
                SsidValue(ssid),
                "BE_MaxAmpduSize",
                UintegerValue(65535),
                "BE_MaxAmsduSize",
                UintegerValue(0));
    if (staHearAll)
    {
        // Users 100 m apart hear each other at about the noise floor, below ns-3's preamble detection
        // (4 dB SNR, -82 dBm): their association requests collide at the AP as hidden terminals, in step
        // after each beacon, and some users associate seconds late or never. Traffic is downlink only, so
        // letting the users' PHYs sense each other changes only their management/control uplink.
        phy.SetPreambleDetectionModel("ns3::ThresholdPreambleDetectionModel",
                                      "Threshold",
                                      DoubleValue(-3.0),
                                      "MinimumRssi",
                                      DoubleValue(-95.0));
        phy.Set("CcaSensitivity", DoubleValue(-95.0));
    }
    NetDeviceContainer devs = wifi.Install(phy, mac, stas);
    phy.SetPreambleDetectionModel("ns3::ThresholdPreambleDetectionModel");
    phy.Set("CcaSensitivity", DoubleValue(-82.0));
    mac.SetType("ns3::ApWifiMac",
                "Ssid",
                SsidValue(ssid),
                "BE_MaxAmpduSize",
                UintegerValue(65535),
                "BE_MaxAmsduSize",
                UintegerValue(0));
    NetDeviceContainer apDev = wifi.Install(phy, mac, ap);
    apDev.Add(devs);
    return apDev; // [AP, STA 0, STA 1, ...]
}

uint32_t
SrsPeriodicityFor(uint32_t users)
{
    // ns-3's eNB RRC admits at most one UE per SRS configuration index: the period must exceed the UE count.
    for (uint32_t p : {40u, 80u, 160u, 320u})
    {
        if (users < p)
        {
            return p;
        }
    }
    NS_FATAL_ERROR("at most 319 LTE users");
}

void
WriteJson(std::FILE* out,
          const std::string& layout,
          uint32_t users,
          double rateMbps,
          double split,
          double simTime,
          double appStart,
          uint32_t seed,
          bool syncStart,
          bool uplink,
          const std::vector<Vector>& pos,
          Vector ap,
          Vector enb,
          double setupWallS,
          double runWallS,
          double trafficWallS,
          uint64_t events)
{
    std::fprintf(out, "{\n  \"ns3_version\": \"%s\", \"wifi_rate_manager\": \"%s\",\n", NS3_WHEEL_VERSION,
                 g_rateManager.c_str());
    std::fprintf(out,
                 "  \"layout\": \"%s\", \"direction\": \"%s\", \"users\": %u, \"rate_mbps\": %.6g, "
                 "\"split\": %.6g,\n",
                 layout.c_str(), uplink ? "ul" : "dl", users, rateMbps, split);
    std::fprintf(out, "  \"sim_time_s\": %.6g, \"app_start_s\": %.6g, \"bin_s\": %.6g, \"seed\": %u, \"sync_start\": %s,\n",
                 simTime, appStart, kBinS, seed, syncStart ? "true" : "false");
    std::fprintf(out, "  \"payload_bytes\": %u, \"ip_header_bytes\": %u,\n", kPayloadBytes, kIpHeaderBytes);
    std::fprintf(out, "  \"ap\": [%.6g, %.6g, %.6g], \"enb\": [%.6g, %.6g, %.6g],\n", ap.x, ap.y, ap.z,
                 enb.x, enb.y, enb.z);
    std::fprintf(out,
                 "  \"setup_wall_s\": %.6f, \"run_wall_s\": %.6f, \"traffic_wall_s\": %.6f, \"events\": %llu,\n",
                 setupWallS, runWallS, trafficWallS, static_cast<unsigned long long>(events));
    std::fprintf(out, "  \"user_list\": [\n");
    const char* linkNames[2] = {"wifi", "lte"};
    for (uint32_t u = 0; u < users; ++u)
    {
        std::fprintf(out, "    {\"x\": %.4f, \"y\": %.4f, \"z\": %.4f, \"wifi_assoc_s\": %.6f, \"wifi_deassoc\": %u",
                     pos[u].x, pos[u].y, pos[u].z, g_assocS[u], g_deassoc[u]);
        const WifiTxStats& w = g_wifiTx[u];
        std::fprintf(out,
                     ",\n     \"wifi_tx\": {\"psdus\": %llu, \"mpdus\": %llu, \"retry_mpdus\": %llu, "
                     "\"airtime_s\": %.6f, \"mcs_psdus\": [",
                     static_cast<unsigned long long>(w.psdus), static_cast<unsigned long long>(w.mpdus),
                     static_cast<unsigned long long>(w.retryMpdus), w.airtimeS);
        for (std::size_t m = 0; m < w.mcsPsdus.size(); ++m)
        {
            std::fprintf(out, "%s%llu", m ? "," : "", static_cast<unsigned long long>(w.mcsPsdus[m]));
        }
        std::fprintf(out, "]}");
        if (uplink && !g_lteUl.empty())
        {
            const LteUlStats& s = g_lteUl[u];
            std::fprintf(out,
                         ",\n     \"lte_ul\": {\"grants\": %llu, \"mcs_sum\": %llu, \"tb_bytes\": %llu, "
                         "\"rx_tbs\": %llu, \"rx_tb_errors\": %llu}",
                         static_cast<unsigned long long>(s.grants), static_cast<unsigned long long>(s.mcsSum),
                         static_cast<unsigned long long>(s.tbBytes), static_cast<unsigned long long>(s.rxTbs),
                         static_cast<unsigned long long>(s.rxTbErrors));
        }
        for (int l = 0; l < 2; ++l)
        {
            const FlowStats& f = g_flows[u * 2 + l];
            std::fprintf(out,
                         ",\n     \"%s\": {\"tx_pkts\": %llu, \"rx_pkts\": %llu, \"rx_ip_bytes\": %llu, "
                         "\"delay_sum_ms\": %.6f,\n       \"bin_tx\": [",
                         linkNames[l], static_cast<unsigned long long>(f.txPkts),
                         static_cast<unsigned long long>(f.rxPkts),
                         static_cast<unsigned long long>(f.rxIpBytes), f.delaySumMs);
            for (uint32_t b = 0; b < g_bins; ++b)
            {
                std::fprintf(out, "%s%llu", b ? "," : "", static_cast<unsigned long long>(f.binTx[b]));
            }
            std::fprintf(out, "],\n       \"bin_rx\": [");
            for (uint32_t b = 0; b < g_bins; ++b)
            {
                std::fprintf(out, "%s%llu", b ? "," : "", static_cast<unsigned long long>(f.binRx[b]));
            }
            std::fprintf(out, "],\n       \"bin_delay_sum_ms\": [");
            for (uint32_t b = 0; b < g_bins; ++b)
            {
                std::fprintf(out, "%s%.4f", b ? "," : "", f.binDelaySumMs[b]);
            }
            std::fprintf(out, "]}");
        }
        std::fprintf(out, "}%s\n", u + 1 < users ? "," : "");
    }
    std::fprintf(out, "  ]\n}\n");
}

} // namespace

int
main(int argc, char* argv[])
{
    auto wallStart = std::chrono::steady_clock::now();
    std::string layout = "wifi";
    uint32_t users = 4;
    double rateMbps = 5.0;
    double simTime = 10.0;
    double appStart = 1.0;
    uint32_t seed = 1;
    double split = 0.5;
    std::string positions;
    std::string apSpec = "0,0,3";
    std::string enbSpec;
    std::string outPath;
    bool syncStart = false;
    bool populateArp = true;
    bool staHearAll = true;
    bool uplink = false;
    std::string rateManager = "ns3::MinstrelHtWifiManager";

    CommandLine cmd(__FILE__);
    cmd.AddValue("layout", "wifi, lte or both", layout);
    cmd.AddValue("users", "number of users", users);
    cmd.AddValue("rateMbps", "offered UDP payload rate per user (Mbps)", rateMbps);
    cmd.AddValue("simTime", "simulated seconds (sources run from --appStart to the end)", simTime);
    cmd.AddValue("appStart", "when the sources start (s; ns3.md: 1.0; later lets many users associate)", appStart);
    cmd.AddValue("seed", "ns-3 RngRun (and the annulus draw when --positions is absent)", seed);
    cmd.AddValue("split", "layout both: share of each user's rate sent over Wi-Fi", split);
    cmd.AddValue("positions", "user positions 'x,y;x,y;...' (z = 1.5 m)", positions);
    cmd.AddValue("ap", "Wi-Fi AP position x,y,z", apSpec);
    cmd.AddValue("enb", "eNB position x,y,z (default 0,0,15; layout both: 100,0,15)", enbSpec);
    cmd.AddValue("syncStart", "start every source at exactly 1.0 s (ns3.md) instead of a random phase", syncStart);
    cmd.AddValue("populateArp", "pre-populate the ARP caches of the Wi-Fi subnet (else ns-3's ARP)", populateArp);
    cmd.AddValue("staHearAll", "users sense each other's frames (no hidden-terminal association storm)", staHearAll);
    cmd.AddValue("rateManager", "Wi-Fi rate control (ns3.md: MinstrelHt; ns3::IdealWifiManager to compare)", rateManager);
    cmd.AddValue("uplink", "flows run from the users to the remote host (netgym-lite: downlink_traffic false)", uplink);
    cmd.AddValue("out", "write the JSON here instead of stdout", outPath);
    cmd.Parse(argc, argv);

    if (layout != "wifi" && layout != "lte" && layout != "both")
    {
        NS_FATAL_ERROR("--layout must be wifi, lte or both (got '" << layout << "')");
    }
    if (users < 1 || rateMbps <= 0.0 || appStart < 0.0 || simTime <= appStart || split < 0.0 || split > 1.0)
    {
        NS_FATAL_ERROR("need --users >= 1, --rateMbps > 0, 0 <= --appStart < --simTime, 0 <= --split <= 1");
    }
    const bool useWifi = layout != "lte";
    const bool useLte = layout != "wifi";
    const double wifiShare = layout == "wifi" ? 1.0 : (layout == "lte" ? 0.0 : split);
    if (enbSpec.empty())
    {
        enbSpec = layout == "both" ? "100,0,15" : "0,0,15";
    }
    Vector apPos = ParseVector(apSpec, "ap");
    Vector enbPos = ParseVector(enbSpec, "enb");

    RngSeedManager::SetSeed(1);
    RngSeedManager::SetRun(seed);

    // Buffers stated explicitly (they are ns-3's defaults): they set the delay under overload.
    Config::SetDefault("ns3::WifiMacQueue::MaxSize", QueueSizeValue(QueueSize("500p")));
    Config::SetDefault("ns3::WifiMacQueue::MaxDelay", TimeValue(MilliSeconds(500)));
    Config::SetDefault("ns3::FqCoDelQueueDisc::MaxSize", QueueSizeValue(QueueSize("10240p")));
    Config::SetDefault("ns3::LteRlcUm::MaxTxBufferSize", UintegerValue(10240));
    Config::SetDefault("ns3::LteEnbRrc::EpsBearerToRlcMapping", EnumValue(LteEnbRrc::RLC_UM_ALWAYS));
    Config::SetDefault("ns3::LteEnbRrc::SrsPeriodicity", UintegerValue(SrsPeriodicityFor(users)));
    Config::SetDefault("ns3::LteEnbRrc::DefaultTransmissionMode", UintegerValue(0)); // SISO
    Config::SetDefault("ns3::LteEnbPhy::TxPower", DoubleValue(30.0));
    Config::SetDefault("ns3::LteUePhy::NoiseFigure", DoubleValue(9.0));
    if (uplink)
    {
        // netgym-lite's uplink budget: 23 dBm (power class 3) spread over the granted RBs, no power control
        Config::SetDefault("ns3::LteUePhy::TxPower", DoubleValue(23.0));
        Config::SetDefault("ns3::LteUePhy::EnableUplinkPowerControl", BooleanValue(false));
    }

    std::vector<Vector> pos =
        UserPositions(positions, users, useWifi ? apPos : enbPos, useWifi ? 10.0 : 50.0, useWifi ? 50.0 : 300.0);

    g_assocS.assign(users, -1.0);
    g_wifiTx.assign(users, WifiTxStats{});
    g_appStartS = appStart;
    g_rateManager = rateManager;
    g_deassoc.assign(users, 0);
    NodeContainer remote;
    remote.Create(1);
    NodeContainer ueNodes;
    ueNodes.Create(users);
    for (uint32_t u = 0; u < users; ++u)
    {
        PlaceAt(ueNodes.Get(u), pos[u]);
    }
    InternetStackHelper internet;
    internet.Install(remote);
    internet.Install(ueNodes);
    Ipv4StaticRoutingHelper routing;
    Ptr<Ipv4StaticRouting> remoteRoutes = routing.GetStaticRouting(remote.Get(0)->GetObject<Ipv4>());
    std::vector<Ipv4Address> dst[2];
    // uplink: the remote host's address on each backhaul, and per user the link's gateway and interface
    Ipv4Address remoteAddr[2];
    std::vector<Ipv4Address> ueGateway[2];
    std::vector<uint32_t> ueIfIndex[2];
    // the LTE helpers must outlive the run: destroying them disposes the EPC nodes
    Ptr<LteHelper> lte;
    Ptr<PointToPointEpcHelper> epc;

    if (useWifi)
    {
        NodeContainer apNode;
        apNode.Create(1);
        PlaceAt(apNode.Get(0), apPos);
        internet.Install(apNode);
        NetDeviceContainer bh = Backhaul(remote.Get(0), apNode.Get(0));
        Ipv4AddressHelper addr("1.0.0.0", "255.255.255.252");
        Ipv4InterfaceContainer bhIf = addr.Assign(bh);
        NetDeviceContainer wifiDevs = InstallWifi(apNode.Get(0), ueNodes, staHearAll, rateManager);
        Ipv4AddressHelper wifiAddr("10.1.0.0", "255.255.0.0");
        Ipv4InterfaceContainer wifiIf = wifiAddr.Assign(wifiDevs); // installs the default FqCoDel root disc
        // ns-3's ARP would otherwise lose requests in a busy cell and starve some users for the whole run
        if (populateArp)
        {
            NeighborCacheHelper neighbours;
            neighbours.PopulateNeighborCache(wifiIf);
        }
        if (!uplink)
        {
            DynamicCast<WifiNetDevice>(wifiDevs.Get(0))
                ->GetPhy()
                ->TraceConnectWithoutContext("PhyTxPsduBegin", MakeCallback(&OnApPsduBegin));
        }
        for (uint32_t u = 0; u < users; ++u)
        {
            Ptr<WifiNetDevice> dev = DynamicCast<WifiNetDevice>(wifiDevs.Get(u + 1));
            g_userOfMac[Mac48Address::ConvertFrom(dev->GetAddress())] = u;
            dev->GetMac()->TraceConnectWithoutContext("Assoc", MakeBoundCallback(&OnAssoc, u));
            dev->GetMac()->TraceConnectWithoutContext("DeAssoc", MakeBoundCallback(&OnDeAssoc, u));
        }
        uint32_t remoteIf = remote.Get(0)->GetObject<Ipv4>()->GetInterfaceForDevice(bh.Get(0));
        remoteRoutes->AddNetworkRouteTo("10.1.0.0", "255.255.0.0", bhIf.GetAddress(1), remoteIf);
        for (uint32_t u = 0; u < users; ++u)
        {
            dst[WIFI].push_back(wifiIf.GetAddress(u + 1));
        }
        remoteAddr[WIFI] = bhIf.GetAddress(0);
        g_apMac = Mac48Address::ConvertFrom(wifiDevs.Get(0)->GetAddress());
        for (uint32_t u = 0; u < users && uplink; ++u)
        {
            ueGateway[WIFI].push_back(wifiIf.GetAddress(0));
            ueIfIndex[WIFI].push_back(ueNodes.Get(u)->GetObject<Ipv4>()->GetInterfaceForDevice(wifiDevs.Get(u + 1)));
            DynamicCast<WifiNetDevice>(wifiDevs.Get(u + 1))
                ->GetPhy()
                ->TraceConnectWithoutContext("PhyTxPsduBegin", MakeBoundCallback(&OnStaPsduBegin, u));
        }
    }
    if (useLte)
    {
        lte = CreateObject<LteHelper>();
        epc = CreateObject<PointToPointEpcHelper>();
        epc->SetAttribute("S1uLinkDelay", TimeValue(Seconds(0)));
        lte->SetEpcHelper(epc);
        lte->SetSchedulerType("ns3::PfFfMacScheduler");
        lte->SetAttribute("PathlossModel", StringValue("ns3::LogDistancePropagationLossModel"));
        lte->SetPathlossModelAttribute("Exponent", DoubleValue(3.0));
        lte->SetPathlossModelAttribute("ReferenceDistance", DoubleValue(1.0));
        lte->SetPathlossModelAttribute("ReferenceLoss", DoubleValue(38.97));
        lte->SetEnbDeviceAttribute("DlBandwidth", UintegerValue(25));
        lte->SetEnbDeviceAttribute("UlBandwidth", UintegerValue(25));
        lte->SetEnbDeviceAttribute("DlEarfcn", UintegerValue(100)); // 2120 MHz
        lte->SetEnbDeviceAttribute("UlEarfcn", UintegerValue(18100));

        Ptr<Node> pgw = epc->GetPgwNode();
        NetDeviceContainer bh = Backhaul(remote.Get(0), pgw);
        Ipv4AddressHelper addr("1.0.1.0", "255.255.255.252");
        Ipv4InterfaceContainer bhIf = addr.Assign(bh);
        uint32_t remoteIf = remote.Get(0)->GetObject<Ipv4>()->GetInterfaceForDevice(bh.Get(0));
        remoteRoutes->AddNetworkRouteTo("7.0.0.0", "255.0.0.0", bhIf.GetAddress(1), remoteIf);

        NodeContainer enbNode;
        enbNode.Create(1);
        PlaceAt(enbNode.Get(0), enbPos);
        NetDeviceContainer enbDevs = lte->InstallEnbDevice(enbNode);
        NetDeviceContainer ueDevs = lte->InstallUeDevice(ueNodes);
        Ipv4InterfaceContainer ueIf = epc->AssignUeIpv4Address(ueDevs);
        for (uint32_t u = 0; u < users; ++u)
        {
            routing.GetStaticRouting(ueNodes.Get(u)->GetObject<Ipv4>())
                ->SetDefaultRoute(epc->GetUeDefaultGatewayAddress(), 1);
            dst[LTE].push_back(ueIf.GetAddress(u));
        }
        lte->Attach(ueDevs, enbDevs.Get(0));
        remoteAddr[LTE] = bhIf.GetAddress(0);
        if (uplink)
        {
            for (uint32_t u = 0; u < users; ++u)
            {
                ueGateway[LTE].push_back(epc->GetUeDefaultGatewayAddress());
                ueIfIndex[LTE].push_back(ueNodes.Get(u)->GetObject<Ipv4>()->GetInterfaceForDevice(ueDevs.Get(u)));
            }
            g_ueLteDevs = ueDevs;
            g_lteUl.assign(users, LteUlStats{});
            Ptr<LteEnbNetDevice> enbDev = DynamicCast<LteEnbNetDevice>(enbDevs.Get(0));
            enbDev->GetMac()->TraceConnectWithoutContext("UlScheduling", MakeCallback(&OnUlScheduling));
            enbDev->GetPhy()->GetUlSpectrumPhy()->TraceConnectWithoutContext("UlPhyReception",
                                                                             MakeCallback(&OnUlPhyReception));
        }
    }

    g_bins = static_cast<uint32_t>(std::ceil(simTime / kBinS - 1e-9)) + 1;
    g_flows.assign(2 * users, FlowStats{});
    for (auto& f : g_flows)
    {
        f.binTx.assign(g_bins, 0);
        f.binRx.assign(g_bins, 0);
        f.binDelaySumMs.assign(g_bins, 0.0);
    }
    auto offset = CreateObject<UniformRandomVariable>();
    uint16_t port = 9000;
    for (uint32_t u = 0; u < users; ++u)
    {
        for (int l = 0; l < 2; ++l)
        {
            double share = l == WIFI ? wifiShare : 1.0 - wifiShare;
            if (dst[l].empty() || share <= 0.0)
            {
                continue;
            }
            uint32_t flow = u * 2 + l;
            double gapS = kPayloadBytes * 8.0 / (rateMbps * share * 1e6);
            Ptr<Node> receiver = uplink ? remote.Get(0) : ueNodes.Get(u);
            Ptr<Node> sender = uplink ? ueNodes.Get(u) : remote.Get(0);
            if (uplink)
            {
                // this flow leaves the user on its own link (layout both: two interfaces, one default route)
                routing.GetStaticRouting(sender->GetObject<Ipv4>())
                    ->AddHostRouteTo(remoteAddr[l], ueGateway[l][u], ueIfIndex[l][u]);
            }
            UdpServerHelper server(port);
            ApplicationContainer sa = server.Install(receiver);
            sa.Start(Seconds(0.5));
            sa.Get(0)->TraceConnectWithoutContext("Rx", MakeBoundCallback(&OnRx, flow));
            UdpClientHelper client(uplink ? remoteAddr[l] : dst[l][u], port);
            client.SetAttribute("MaxPackets", UintegerValue(0));
            client.SetAttribute("Interval", TimeValue(Seconds(gapS)));
            client.SetAttribute("PacketSize", UintegerValue(kPayloadBytes));
            ApplicationContainer ca = client.Install(sender);
            // first packet after a random fraction of one gap (as netgym-lite's CBR source), or all at once:
            // synchronised sources make packets of all users reach the AP/eNB together, which raises the
            // unloaded delay (the LTE edge user then shares its TTIs)
            ca.Start(Seconds(appStart + (syncStart ? 0.0 : offset->GetValue(0.0, gapS))));
            ca.Stop(Seconds(simTime));
            ca.Get(0)->TraceConnectWithoutContext("Tx", MakeBoundCallback(&OnTx, flow));
            ++port;
        }
    }

    Simulator::Schedule(Seconds(appStart), &MarkTrafficStart);
    Simulator::Stop(Seconds(simTime));
    auto runStart = std::chrono::steady_clock::now();
    Simulator::Run();
    auto runEnd = std::chrono::steady_clock::now();
    uint64_t events = Simulator::GetEventCount();
    double setupWall = std::chrono::duration<double>(runStart - wallStart).count();
    double runWall = std::chrono::duration<double>(runEnd - runStart).count();
    double trafficWall = std::chrono::duration<double>(runEnd - g_trafficWallStart).count();

    std::FILE* out = outPath.empty() ? stdout : std::fopen(outPath.c_str(), "w");
    if (!out)
    {
        NS_FATAL_ERROR("cannot write " << outPath);
    }
    WriteJson(out, layout, users, rateMbps, split, simTime, appStart, seed, syncStart, uplink, pos, apPos, enbPos, setupWall, runWall,
              trafficWall, events);
    if (out != stdout)
    {
        std::fclose(out);
    }
    Simulator::Destroy();
    return 0;
}

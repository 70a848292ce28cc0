package kafka

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// advertiseSASLHandshakeV0 makes the broker's ApiVersions answer list
// SaslHandshake from version 0, as Kafka does, while kfake lists it from
// version 1 (it serves only v1). librdkafka (kcat, confluent-kafka-python
// and -go, most non-Java clients) enables SASL only if v0 is in the range,
// and then sends v1: without this it gives up with "SASL Handshake not
// supported by broker". franz-go and the Java client are not affected.
//
// kfake has no hook to change a response it made, so the broker asks
// itself once for its ApiVersions answer (through client opts) and then
// answers ApiVersions requests it can answer the same way; the rest (a
// version above kfake's, bad client software names, KIP-1242 routing
// checks) is left to kfake.
func advertiseSASLHandshakeV0(ctx context.Context, c *kfake.Cluster, addrs []string, opts []kgo.Opt) error {
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(addrs...), kgo.ClientID("sessionize-broker-internal"))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	own, err := kmsg.NewPtrApiVersionsRequest().RequestWith(rctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(own.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("reading the broker's own ApiVersions: %w", err)
	}
	keys := slices.Clone(own.ApiKeys)
	maxV := int16(-1)
	for i := range keys {
		switch keys[i].ApiKey {
		case kmsg.SASLHandshake.Int16():
			keys[i].MinVersion = 0
		case kmsg.ApiVersions.Int16():
			maxV = keys[i].MaxVersion
		}
	}
	c.ControlKey(kmsg.ApiVersions.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.ApiVersionsRequest)
		if req.Version > maxV || (req.Version >= 5 && (req.ClusterID != nil || req.NodeID != -1)) ||
			(req.Version >= 3 && (!softwareName.MatchString(req.ClientSoftwareName) || !softwareName.MatchString(req.ClientSoftwareVersion))) {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.ApiKeys = slices.Clone(keys)
		resp.SupportedFeatures = slices.Clone(own.SupportedFeatures)
		resp.FinalizedFeatures = slices.Clone(own.FinalizedFeatures)
		resp.FinalizedFeaturesEpoch = own.FinalizedFeaturesEpoch
		return resp, nil, true
	})
	return nil
}

// softwareName is what Kafka accepts as a client software name and
// version (ApiVersions v3+).
var softwareName = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

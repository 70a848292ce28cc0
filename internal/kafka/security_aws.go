package kafka

import (
	"context"
	"fmt"
	"sync"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
)

// mskIAM is franz-go's AWS_MSK_IAM mechanism, signing with creds at every
// authentication (kgo re-authenticates before the session MSK grants
// expires, so rotated role credentials are picked up).
func mskIAM(creds func(context.Context) (AWSAuth, error)) sasl.Mechanism {
	return aws.ManagedStreamingIAM(func(ctx context.Context) (aws.Auth, error) {
		c, err := creds(ctx)
		if err != nil {
			return aws.Auth{}, err
		}
		return aws.Auth{AccessKey: c.AccessKey, SecretKey: c.SecretKey, SessionToken: c.SessionToken, UserAgent: "sessionize"}, nil
	})
}

// awsCredentials returns credentials from the standard AWS chain, as the
// AWS CLI finds them: AWS_ACCESS_KEY_ID and friends, AWS_PROFILE and the
// shared config and credentials files (SSO included), web identity (EKS),
// then the ECS and EC2 instance roles. The chain is loaded at the first
// authentication; its provider caches and refreshes the credentials.
func awsCredentials() func(context.Context) (AWSAuth, error) {
	var (
		once    sync.Once
		loadErr error
		cfgFn   func(context.Context) (AWSAuth, error)
	)
	return func(ctx context.Context) (AWSAuth, error) {
		once.Do(func() {
			cfg, err := awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				loadErr = fmt.Errorf("kafka: AWS_MSK_IAM: loading the AWS configuration: %w", err)
				return
			}
			cfgFn = func(ctx context.Context) (AWSAuth, error) {
				c, err := cfg.Credentials.Retrieve(ctx)
				if err != nil {
					return AWSAuth{}, fmt.Errorf("kafka: AWS_MSK_IAM: no AWS credentials (set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an IAM role): %w", err)
				}
				return AWSAuth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
			}
		})
		if loadErr != nil {
			return AWSAuth{}, loadErr
		}
		return cfgFn(ctx)
	}
}

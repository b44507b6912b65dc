package moto

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tossintl/backend/internal/testenv"
)

// TestServesSecretsManager: what the local stack asks of moto, a secret
// created and read back; Close leaves nothing running.
func TestServesSecretsManager(t *testing.T) {
	testenv.Skip(t, "moto_server")
	s, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sm := secretsmanager.New(secretsmanager.Options{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""), BaseEndpoint: aws.String(s.URL)})
	if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("t/keys"), SecretString: aws.String(`{"k":"v"}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("t/keys")})
	if err != nil || aws.ToString(out.SecretString) != `{"k":"v"}` {
		t.Fatalf("GetSecretValue = %v, %v", out, err)
	}
	s.Close()
	select {
	case <-s.proc.Exited():
	default:
		t.Fatal("moto_server still running after Close")
	}
}

func TestMissingMotoSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Start(t.Context()); err != ErrNotInstalled {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
}

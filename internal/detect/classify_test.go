package detect

import "testing"

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		secret      bool
		why         string
	}{
		// Plain config stays: the bug was NODE_ENV being scrubbed.
		{"NODE_ENV", "production", false, WhyConfig},
		{"PORT", "3000", false, WhyConfigName},
		{"APP_NAME", "my-shop", false, WhyConfigName},
		{"DEBUG", "true", false, WhyConfig},
		{"LOG_LEVEL", "info", false, WhyConfig},
		{"API_URL", "https://api.example.com/v1", false, WhyConfigName},
		{"CLIENT_ID", "c0a1b2c3d4e5f6a7b8c9", false, WhyConfigName},
		{"REDIS_URL", "redis://localhost:6379/0", false, WhyConfigName},
		{"DATABASE_URL", "postgres://app:${DB_PASS}@db/app", false, WhyConfigName},
		{"EMPTY", "", false, WhyEmpty},
		{"GREETING", "hello world, how are you", false, WhyConfig},
		// Secrets move.
		{"API_KEY", "Zt4yHq9K", true, WhyName},
		{"DB_PASSWORD", "hunter2", true, WhyName}, // weak, but a password
		{"DB_URL", "postgres://u:hunter2@db/app", true, WhyURLPass},
		{"GH", "ghp_" + "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7j", true, WhyProvider + " (GitHub token)"},
		{"CERT", "-----BEGIN KEY-----\nabc\n-----END KEY-----", true, WhyPEM},
		{"SIGNING", "Xk29fjQ0pLm3ZzR8wT5uQ7", true, WhyEntropy},
		{"SESSION_SECRET", "x", true, WhyName},
	} {
		secret, why := Classify(tc.name, []byte(tc.value))
		if secret != tc.secret || why != tc.why {
			t.Errorf("Classify(%s) = (%v, %q), want (%v, %q)", tc.name, secret, why, tc.secret, tc.why)
		}
	}
}

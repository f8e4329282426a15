import java.math.BigDecimal;
import java.net.URL;
import java.util.Map;
import javax.xml.ws.BindingProvider;
import javax.xml.ws.Holder;

import distbank.interop.gen.BankFaultMessage;
import distbank.interop.gen.BankPortType;
import distbank.interop.gen.BankService;

/**
 * JAX-WS RI client of the distbank interop test (test/interop-jaxws.test.ts). The port types
 * come from `wsimport -XadditionalHeaders` run on the served WSDL, so the header blocks are
 * method parameters; a null request-id is how a Java caller says "none". Settings come from
 * INTEROP_* environment variables; every step prints one JSON line, a failure included.
 */
public final class BankInterop {
    private static final int CALL_TIMEOUT_MS = 30_000;

    private static String env(String name) {
        String value = System.getenv(name);
        if (value == null) throw new IllegalStateException("missing " + name);
        return value;
    }

    private static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    private static void print(String step, String... pairs) {
        StringBuilder b = new StringBuilder("{\"step\":").append(json(step));
        for (int i = 0; i + 1 < pairs.length; i += 2) b.append(',').append(json(pairs[i])).append(':').append(json(pairs[i + 1]));
        System.out.println(b.append('}'));
    }

    private interface Step { void run() throws Exception; }

    /** A step that fails prints its error and the next step still runs. */
    private static void step(String name, Step body) {
        try {
            body.run();
        } catch (BankFaultMessage f) {
            print(name, "faultCode", String.valueOf(f.getFaultInfo().getCode().value()), "faultMessage", String.valueOf(f.getFaultInfo().getMessage()));
        } catch (Exception e) {
            print(name, "error", e.toString());
        }
    }

    public static void main(String[] args) throws Exception {
        BankPortType port = new BankService(new URL(env("INTEROP_WSDL_URL"))).getBankPort();
        Map<String, Object> context = ((BindingProvider) port).getRequestContext();
        context.put("com.sun.xml.ws.connect.timeout", CALL_TIMEOUT_MS);
        context.put("com.sun.xml.ws.request.timeout", CALL_TIMEOUT_MS);
        String client = env("INTEROP_CLIENT_ID");
        String token = env("INTEROP_AUTH_TOKEN");
        String from = env("INTEROP_ACCOUNT");
        String to = env("INTEROP_TO_ACCOUNT");

        step("getBalance", () -> {
            Holder<String> id = new Holder<>(from);
            Holder<BigDecimal> balance = new Holder<>();
            port.getBalance(id, balance, token, client, null);
            print("getBalance", "accountId", id.value, "balance", balance.value.toPlainString());
        });
        for (String name : new String[] {"transfer", "replay"}) {
            step(name, () -> {
                Holder<String> account = new Holder<>(from);
                Holder<String> transactionId = new Holder<>();
                Holder<BigDecimal> balance = new Holder<>();
                port.transfer(account, to, new BigDecimal(env("INTEROP_AMOUNT")), transactionId, balance, token, client, env("INTEROP_REQUEST_ID"));
                print(name, "transactionId", transactionId.value, "balance", balance.value.toPlainString());
            });
        }
        step("badToken", () -> {
            port.getBalance(new Holder<>(from), new Holder<>(), env("INTEROP_BAD_TOKEN"), client, null);
            print("badToken", "error", "no fault");
        });
        step("foreignAccount", () -> {
            port.getBalance(new Holder<>(env("INTEROP_FOREIGN_ACCOUNT")), new Holder<>(), token, client, null);
            print("foreignAccount", "error", "no fault");
        });
        step("decimal", () -> {
            // BigDecimal keeps the scale of a product: 0.10 * 0.1 is 0.010 (scale 3), sent as such.
            BigDecimal amount = new BigDecimal("0.10").multiply(new BigDecimal("0.1"));
            Holder<String> account = new Holder<>(from);
            Holder<String> transactionId = new Holder<>();
            Holder<BigDecimal> balance = new Holder<>();
            port.transfer(account, to, amount, transactionId, balance, token, client, env("INTEROP_DECIMAL_REQUEST_ID"));
            print("decimal", "amount", amount.toPlainString(), "transactionId", transactionId.value, "balance", balance.value.toPlainString());
        });
    }
}

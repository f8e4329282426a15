// Mono (ASMX) client of the distbank interop test (test/interop-mono.test.ts). The proxy class
// comes from Mono's `wsdl` run on the served WSDL: a SoapHttpClientProtocol with one SoapHeader
// field per header block (authtokenValue, clientidValue, requestidValue); a null field is
// "none". Settings come from INTEROP_* environment variables; every step prints one JSON line.
using System;
using System.Globalization;
using System.Text;
using System.Web.Services.Protocols;
using System.Xml;

public static class BankInterop {
    const string Ns = "urn:distbank:bank:v1";

    static string Env(string name) {
        string value = Environment.GetEnvironmentVariable(name);
        if (value == null) throw new InvalidOperationException("missing " + name);
        return value;
    }

    static string Json(string s) {
        var b = new StringBuilder("\"");
        foreach (char c in s) {
            if (c == '"' || c == '\\') b.Append('\\').Append(c);
            else if (c < 0x20) b.AppendFormat("\\u{0:x4}", (int) c);
            else b.Append(c);
        }
        return b.Append('"').ToString();
    }

    static void Print(string step, params string[] pairs) {
        var b = new StringBuilder("{\"step\":").Append(Json(step));
        for (int i = 0; i + 1 < pairs.Length; i += 2) b.Append(',').Append(Json(pairs[i])).Append(':').Append(Json(pairs[i + 1]));
        Console.WriteLine(b.Append('}').ToString());
    }

    static string Text(decimal d) { return d.ToString(CultureInfo.InvariantCulture); }

    /** A step that fails prints its error (the BankFault code from the detail) and the next runs. */
    static void Step(string name, Action body) {
        try {
            body();
        } catch (SoapException e) {
            var nsm = new XmlNamespaceManager(new NameTable());
            nsm.AddNamespace("b", Ns);
            XmlNode code = e.Detail == null ? null : e.Detail.SelectSingleNode("b:BankFault/b:code", nsm);
            XmlNode message = e.Detail == null ? null : e.Detail.SelectSingleNode("b:BankFault/b:message", nsm);
            if (code == null) Print(name, "error", "SoapException " + e.Code + ": " + e.Message);
            else Print(name, "faultCode", code.InnerText, "faultMessage", message == null ? "" : message.InnerText);
        } catch (Exception e) {
            Print(name, "error", e.GetType().Name + ": " + e.Message);
        }
    }

    static BankService Service(string token, string requestId, Encoding encoding) {
        var s = new BankService();
        s.Timeout = 30000;
        s.RequestEncoding = encoding;
        s.authtokenValue = new authtoken { Text = new[] { token } };
        s.clientidValue = new clientid { Text = new[] { Env("INTEROP_CLIENT_ID") } };
        s.requestidValue = requestId == null ? null : new requestid { Text = new[] { requestId } };
        return s;
    }

    static void Transfer(string step, decimal amount, string requestId, Encoding encoding) {
        string from = Env("INTEROP_ACCOUNT");
        decimal balance;
        string transactionId = Service(Env("INTEROP_AUTH_TOKEN"), requestId, encoding).Transfer(ref from, Env("INTEROP_TO_ACCOUNT"), amount, out balance);
        Print(step, "amount", Text(amount), "transactionId", transactionId, "balance", Text(balance));
    }

    public static int Main() {
        string token = Env("INTEROP_AUTH_TOKEN");
        Encoding utf8 = new UTF8Encoding(false);
        Step("getBalance", () => {
            string account = Env("INTEROP_ACCOUNT");
            decimal balance = Service(token, null, utf8).GetBalance(ref account);
            Print("getBalance", "accountId", account, "balance", Text(balance));
        });
        foreach (string step in new[] { "transfer", "replay" }) {
            Step(step, () => Transfer(step, decimal.Parse(Env("INTEROP_AMOUNT"), CultureInfo.InvariantCulture), Env("INTEROP_REQUEST_ID"), utf8));
        }
        Step("badToken", () => {
            string account = Env("INTEROP_ACCOUNT");
            Service(Env("INTEROP_BAD_TOKEN"), null, utf8).GetBalance(ref account);
            Print("badToken", "error", "no fault");
        });
        Step("foreignAccount", () => {
            string account = Env("INTEROP_FOREIGN_ACCOUNT");
            Service(token, null, utf8).GetBalance(ref account);
            Print("foreignAccount", "error", "no fault");
        });
        // System.Decimal keeps the scale of a product: 0.10m * 0.1m is 0.010m, sent as "0.010".
        Step("decimal", () => Transfer("decimal", 0.10m * 0.1m, Env("INTEROP_DECIMAL_REQUEST_ID"), utf8));
        // UTF-16 (little endian, with BOM): Content-Type text/xml; charset=utf-16.
        Step("utf16", () => {
            string account = Env("INTEROP_ACCOUNT");
            decimal balance = Service(token, null, Encoding.Unicode).GetBalance(ref account);
            Print("utf16", "accountId", account, "balance", Text(balance));
        });
        return 0;
    }
}

// Launcher starts DynamoDB Local bound to a single (loopback) address.
//
// DynamoDB Local's own ServerRunner has no option for the listen address and
// binds 0.0.0.0. This launcher builds the server with DynamoDB Local's own
// ServerRunner.createServerFromCommandLineArgs, then, before starting it, sets
// the host of every Jetty ServerConnector of the server to the requested
// address (127.0.0.1 by default). The Jetty Server is a private field of
// DynamoDBProxyServer, so it is reached by reflection.
//
// Run in Java's single-file source mode (see scripts/services.sh):
//
//   java -Djava.library.path=$DIR/DynamoDBLocal_lib \
//        -cp "$DIR/DynamoDBLocal.jar:$DIR/DynamoDBLocal_lib/*" \
//        scripts/dynamodb-local/Launcher.java --host 127.0.0.1 --port 8000
//
// Any further arguments are passed on to DynamoDB Local; -inMemory, -sharedDb
// and -disableTelemetry are always passed.

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class Launcher {
    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        String port = null;
        List<String> extra = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host":
                    host = args[++i];
                    break;
                case "--port":
                    port = args[++i];
                    break;
                default:
                    extra.add(args[i]);
            }
        }
        if (port == null) {
            fail("usage: Launcher.java --port PORT [--host 127.0.0.1] [DynamoDB Local args...]");
        }
        if (!InetAddress.getByName(host).isLoopbackAddress()) {
            fail("refusing to bind DynamoDB Local to non-loopback address " + host);
        }

        List<String> ddbArgs = new ArrayList<>(List.of(
                "-inMemory", "-sharedDb", "-disableTelemetry", "-port", port));
        ddbArgs.addAll(extra);

        DynamoDBProxyServer proxy =
                ServerRunner.createServerFromCommandLineArgs(ddbArgs.toArray(new String[0]));

        Field f = DynamoDBProxyServer.class.getDeclaredField("server");
        f.setAccessible(true);
        Server jetty = (Server) f.get(proxy);

        int bound = 0;
        for (Connector c : jetty.getConnectors()) {
            if (c instanceof ServerConnector) {
                ((ServerConnector) c).setHost(host);
                bound++;
            } else {
                fail("unexpected Jetty connector type " + c.getClass().getName()
                        + "; cannot restrict it to " + host);
            }
        }
        if (bound == 0) {
            fail("DynamoDB Local's Jetty server has no ServerConnector to bind to " + host);
        }

        // DynamoDBProxyServer.start swallows a bind failure (prints it and
        // stops the server), so check the state afterwards.
        proxy.start();
        if (!jetty.isStarted()) {
            fail("DynamoDB Local did not start on " + host + ":" + port);
        }
        for (Connector c : jetty.getConnectors()) {
            ServerConnector sc = (ServerConnector) c;
            System.out.println("DynamoDB Local listening on " + sc.getHost() + ":" + sc.getLocalPort());
        }
        System.out.flush();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                proxy.stop();
            } catch (Exception e) {
                // exiting anyway
            }
        }));
        proxy.join();
    }

    private static void fail(String msg) {
        System.err.println("Launcher: " + msg);
        System.exit(2);
    }
}

/** The end of a customer's request form: the bot trap and the send button, disabled while the request is being sent. */
import { useNavigation } from "@remix-run/react";
import { Honeypot } from "#app/components/field.tsx";

export function SendRequest() {
  const navigation = useNavigation();
  return (
    <>
      <Honeypot />
      <button type="submit" disabled={navigation.state === "submitting"}>
        Send request
      </button>
    </>
  );
}
